package etl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	var res map[string]any
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("%w: not valid JSON: %v", errBadRow, err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: unexpected data after the JSON object", errBadRow)
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

// encodeResource writes a resource as compact JSON with sorted keys.
func encodeResource(res map[string]any) ([]byte, error) {
	return json.MarshalNoEscape(res)
}
