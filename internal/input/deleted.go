package input

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"cumulus-etl/internal/ndjson"
)

// deletionBundle is one line of a deleted/ file.
type deletionBundle struct {
	ResourceType string `json:"resourceType"`
	Entry        []struct {
		Request *struct {
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"request"`
	} `json:"entry"`
}

// ErrBadDeletions is wrapped by ReadDeleted's error when lines of the deleted/ files cannot be used.
var ErrBadDeletions = errors.New("the export's deleted/ files hold lines that cannot be used")

// ReadDeleted reads transaction Bundles of DELETE entries (entry.request.method
// == "DELETE", entry.request.url "Type/id", also tolerating
// "Type/id/_history/x" and absolute URLs ending in Type/id) and returns the
// raw ids per resource type. Any other entry, a non-Bundle line or a file that
// cannot be read to its end is an error: every such line is named (file:line,
// the first 100 of them, the rest counted) in one error wrapping ErrBadDeletions.
func ReadDeleted(ctx context.Context, files []File) (map[string]map[string]struct{}, error) {
	ids := make(map[string]map[string]struct{})
	var bad lineErrors
	for _, f := range files {
		err := eachObjectIn(ctx, f, bad.add, func(r *ndjson.Reader, b *deletionBundle) error {
			if b.ResourceType != "Bundle" {
				return r.Errorf("expected a Bundle of deletions, found resourceType %q", b.ResourceType)
			}
			for i, e := range b.Entry {
				if e.Request == nil || e.Request.Method != "DELETE" {
					return r.Errorf("Bundle entry %d is not a DELETE request", i)
				}
				if _, _, ok := parseDeleteURL(e.Request.URL); !ok {
					return r.Errorf("Bundle entry %d: request.url %q is not Type/id of a FHIR R4 resource", i, e.Request.URL)
				}
			}
			for _, e := range b.Entry { // only a line without a bad entry counts
				typ, id, _ := parseDeleteURL(e.Request.URL)
				if ids[typ] == nil {
					ids[typ] = make(map[string]struct{})
				}
				ids[typ][id] = struct{}{}
			}
			return nil
		})
		if err != nil {
			_ = bad.add(err) // unreadable to its end: named, and the next file is read
		}
	}
	if err := bad.err(ErrBadDeletions); err != nil {
		return nil, err
	}
	return ids, nil
}

// parseDeleteURL splits "Type/id", "Type/id/_history/v" or an absolute URL
// ending in one of those into type and id.
func parseDeleteURL(raw string) (typ, id string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", false
	}
	segs := strings.Split(strings.TrimSuffix(u.Path, "/"), "/")
	if n := len(segs); n >= 4 && segs[n-2] == "_history" {
		segs = segs[:n-2]
	}
	absolute := u.Scheme != "" && u.Host != ""
	if len(segs) < 2 || !absolute && len(segs) != 2 {
		return "", "", false
	}
	typ, id = segs[len(segs)-2], segs[len(segs)-1]
	return typ, id, isResourceType(typ) && id != ""
}
