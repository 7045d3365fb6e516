package bulk

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"cumulus-etl/internal/redact"
)

// manifestItem is one file entry of a manifest.
type manifestItem struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	Count *int64 `json:"count"`
}

// manifest is a complete-status body, version-agnostic (VD-03): error or outcome, optional
// request, any extension shape; unknown fields are ignored (MF-11, EC-28, EC-29).
type manifest struct {
	TransactionTime     string         `json:"transactionTime"`
	RequiresAccessToken optBool        `json:"requiresAccessToken"`
	Output              []manifestItem `json:"output"`
	Error               []manifestItem `json:"error"`
	Outcome             []manifestItem `json:"outcome"`
	Deleted             []manifestItem `json:"deleted"`
	Link                []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
}

// itemKind says which manifest array a file came from; it picks the folder and expected type.
type itemKind string

const (
	kindOutput  itemKind = "output"
	kindError   itemKind = "error"
	kindDeleted itemKind = "deleted"
)

// parseManifest decodes a manifest page and resolves relative URLs against the page URL (EC-30).
func parseManifest(body []byte, pageURL string) (*manifest, error) {
	var m manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("manifest from %s is not valid JSON: %w", redact.URL(pageURL), err)
	}
	var rt struct {
		ResourceType string `json:"resourceType"`
	}
	_ = json.Unmarshal(body, &rt)
	if rt.ResourceType == "OperationOutcome" {
		return nil, fmt.Errorf("status %s returned an OperationOutcome instead of a manifest", redact.URL(pageURL))
	}
	base, err := url.Parse(pageURL)
	if err != nil {
		return nil, fmt.Errorf("manifest page URL %q: %w", redact.URL(pageURL), err)
	}
	for _, it := range m.Output {
		if !validTypeName(it.Type) {
			return nil, fmt.Errorf("manifest from %s has output type %q, which is not a FHIR resource type name", redact.URL(pageURL), it.Type)
		}
	}
	m.Error = append(m.Error, m.Outcome...)
	m.Outcome = nil
	for _, items := range [][]manifestItem{m.Output, m.Error, m.Deleted} {
		for i := range items {
			ref, err := url.Parse(items[i].URL)
			if err != nil || items[i].URL == "" {
				return nil, fmt.Errorf("manifest from %s has a bad file url %q", redact.URL(pageURL), redact.URL(items[i].URL))
			}
			items[i].URL = base.ResolveReference(ref).String()
		}
	}
	for i := range m.Link {
		if ref, err := url.Parse(m.Link[i].URL); err == nil {
			m.Link[i].URL = base.ResolveReference(ref).String()
		}
	}
	return &m, nil
}

// validTypeName reports whether an output type is empty (organizeOutputBy) or letters and digits
// starting with a letter, as FHIR resource type names are. The type becomes a local file name,
// so anything else (a path, dots) could write outside DIR (MF-04a).
func validTypeName(t string) bool {
	for i, c := range t {
		letter := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// next returns the URL of the next manifest page, or "".
func (m *manifest) next() string {
	for _, l := range m.Link {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}

// needsToken reports whether file requests carry the access token (MF-21). A missing field is
// treated as true, as STU1 servers that omit it expect the token.
func (m *manifest) needsToken() bool {
	return !m.RequiresAccessToken.set || m.RequiresAccessToken.value
}

// optBool is a JSON boolean that may be absent or null, and may come as the string "true" or
// "false" (Oracle Health's documented manifests send "requiresAccessToken": "true").
type optBool struct{ set, value bool }

func (b *optBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*b = optBool{}
		return nil
	case bool:
		*b = optBool{set: true, value: v}
		return nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			*b = optBool{set: true, value: true}
			return nil
		case "false":
			*b = optBool{set: true, value: false}
			return nil
		}
	}
	return fmt.Errorf("%s is not a boolean", data)
}

// parseTransactionTime accepts RFC 3339 with or without fractional seconds (EC-31).
func parseTransactionTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
