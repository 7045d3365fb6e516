package notes

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/tidwall/sjson"
)

// Inlined returns the attachment JSON raw filled with a downloaded note: data (base64 of body),
// size, hash (base64 of its SHA-1, as FHIR defines it) and contentType (mediaType with the
// charset, when there is one). Every other field, url included, stays as it was, in its place.
func Inlined(raw []byte, mediaType, charset string, body []byte) ([]byte, error) {
	sum := sha1.Sum(body)
	ct := mediaType
	if charset != "" {
		ct += "; charset=" + charset
	}
	data := make([]byte, 0, base64.StdEncoding.EncodedLen(len(body))+2)
	data = append(data, '"')
	data = base64.StdEncoding.AppendEncode(data, body)
	data = append(data, '"')
	out := append([]byte(nil), raw...)
	var err error
	for _, set := range []struct {
		key string
		raw []byte
	}{
		{"contentType", jsonString(ct)},
		{"data", data},
		{"size", strconv.AppendInt(nil, int64(len(body)), 10)},
		{"hash", jsonString(base64.StdEncoding.EncodeToString(sum[:]))},
	} {
		if out, err = sjson.SetRawBytes(out, set.key, set.raw); err != nil {
			return nil, fmt.Errorf("setting attachment %s: %w", set.key, err)
		}
	}
	return out, nil
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}
