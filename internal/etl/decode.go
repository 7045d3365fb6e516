package etl

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"

	json "github.com/goccy/go-json"
)

// errBadRow marks an input line that is not a usable FHIR resource.
var errBadRow = errors.New("bad input row")

// decodeResource parses one ndjson line into a FHIR resource of the expected type. Numbers stay
// json.Number so decimals keep their exact digits.
func decodeResource(line []byte, wantType string) (map[string]any, error) {
	if !utf8.Valid(line) {
		return nil, fmt.Errorf("%w: not valid UTF-8", errBadRow)
	}
	trimmed := bytes.TrimLeft(line, " \t")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("%w: not a JSON object", errBadRow)
	}
	var res map[string]any
	if err := json.UnmarshalWithOption(trimmed, &res, useNumber); err != nil {
		return nil, fmt.Errorf("%w: not valid JSON: %v", errBadRow, err)
	}
	rt, _ := res["resourceType"].(string)
	if rt == "" {
		return nil, fmt.Errorf("%w: no resourceType", errBadRow)
	}
	if rt != wantType {
		return nil, fmt.Errorf("%w: resourceType %q in a %s file", errBadRow, rt, wantType)
	}
	if id, _ := res["id"].(string); id == "" {
		return nil, fmt.Errorf("%w: no id", errBadRow)
	}
	return res, nil
}

// useNumber decodes numbers as json.Number, as Decoder.UseNumber does; go-json offers that flag
// to Unmarshal only through its option bits (decoder.UseNumberOption == 1<<3), and Unmarshal is
// about 1.7 times faster than its Decoder on FHIR resources. TestDecodeKeepsNumbersExact guards it.
func useNumber(o *json.DecodeOption) { o.Flags |= 1 << 3 }

// encodeResource writes a resource as compact JSON with sorted keys.
func encodeResource(res map[string]any) ([]byte, error) {
	return json.MarshalNoEscape(res)
}
