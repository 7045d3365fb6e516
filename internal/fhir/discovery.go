package fhir

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"cumulus-etl/internal/redact"
)

const maxDiscoveryBody = 8 << 20

const oauthURIsExtension = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"

// Capabilities is what the server says about itself in its CapabilityStatement ([base]/metadata)
// and its SMART configuration ([base]/.well-known/smart-configuration). Fields are empty when
// the server did not say.
type Capabilities struct {
	FHIRVersion         string
	SoftwareName        string // "Epic" makes the client send Epic-Client-ID
	SoftwareVersion     string
	SoftwareReleaseDate string
	Publisher           string
	Instantiates        []string            // e.g. http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data
	ResourceTypes       []string            // rest[mode=server].resource[].type, sorted
	Operations          map[string][]string // operation names by resource type; "" holds system-level ones (AU-06)
	SearchParams        map[string][]string // search parameter names by resource type (resource[].searchParam[].name)
	Interactions        map[string][]string // interaction codes by resource type (read, search-type, ...)
	SMART               SMARTConfiguration
}

// SMARTConfiguration holds the fields of .well-known/smart-configuration the client uses (AU-02).
type SMARTConfiguration struct {
	TokenEndpoint     string   `json:"token_endpoint"` // resolved against the base URL (AU-04)
	GrantTypes        []string `json:"grant_types_supported"`
	AuthMethods       []string `json:"token_endpoint_auth_methods_supported"`
	SigningAlgorithms []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	Capabilities      []string `json:"capabilities"`
	Scopes            []string `json:"scopes_supported"`
}

// V2ScopesOnly reports whether SMART v2 scopes (.rs) must be used: the server advertises
// permission-v2 but not permission-v1. Oracle Health claims v2 yet fails with it, and also
// lists v1, so v1 stays the default (AU-42; Cumulus ETL 9146b72).
func (s SMARTConfiguration) V2ScopesOnly() bool {
	return slices.Contains(s.Capabilities, "permission-v2") && !slices.Contains(s.Capabilities, "permission-v1")
}

// IsEpic reports whether the server identifies itself as Epic.
func (c Capabilities) IsEpic() bool { return strings.EqualFold(c.SoftwareName, "Epic") }

// IsOracle reports whether the server is Oracle Health (Cerner), by its publisher.
func (c Capabilities) IsOracle() bool {
	return strings.EqualFold(c.Publisher, "Cerner") || strings.EqualFold(c.Publisher, "Oracle Health")
}

// capabilityStatement is the part of a CapabilityStatement the client reads.
type capabilityStatement struct {
	FHIRVersion  string   `json:"fhirVersion"`
	Publisher    string   `json:"publisher"`
	Instantiates []string `json:"instantiates"`
	Software     struct {
		Name        string `json:"name"`
		Version     string `json:"version"`
		ReleaseDate string `json:"releaseDate"`
	} `json:"software"`
	Rest []struct {
		Mode      string      `json:"mode"`
		Operation []namedItem `json:"operation"`
		Resource  []struct {
			Type        string      `json:"type"`
			Operation   []namedItem `json:"operation"`
			SearchParam []namedItem `json:"searchParam"`
			Interaction []struct {
				Code string `json:"code"`
			} `json:"interaction"`
		} `json:"resource"`
		Security struct {
			Extension []extension `json:"extension"`
		} `json:"security"`
	} `json:"rest"`
}

type namedItem struct {
	Name string `json:"name"`
}

type extension struct {
	URL       string      `json:"url"`
	ValueURI  string      `json:"valueUri"`
	Extension []extension `json:"extension"`
}

// apply copies the statement into c and returns the oauth-uris token URL, if any (AU-05).
func (cs capabilityStatement) apply(c *Capabilities) (tokenURL string) {
	c.FHIRVersion, c.Publisher, c.Instantiates = cs.FHIRVersion, cs.Publisher, cs.Instantiates
	c.SoftwareName, c.SoftwareVersion, c.SoftwareReleaseDate = cs.Software.Name, cs.Software.Version, cs.Software.ReleaseDate
	c.Operations, c.SearchParams, c.Interactions = map[string][]string{}, map[string][]string{}, map[string][]string{}
	for _, rest := range cs.Rest {
		if rest.Mode != "" && rest.Mode != "server" {
			continue
		}
		for _, op := range rest.Operation {
			c.Operations[""] = append(c.Operations[""], op.Name)
		}
		for _, res := range rest.Resource {
			c.ResourceTypes = append(c.ResourceTypes, res.Type)
			for _, op := range res.Operation {
				c.Operations[res.Type] = append(c.Operations[res.Type], op.Name)
			}
			for _, sp := range res.SearchParam {
				c.SearchParams[res.Type] = append(c.SearchParams[res.Type], sp.Name)
			}
			for _, in := range res.Interaction {
				c.Interactions[res.Type] = append(c.Interactions[res.Type], in.Code)
			}
		}
		for _, ext := range rest.Security.Extension {
			if ext.URL != oauthURIsExtension {
				continue
			}
			for _, sub := range ext.Extension {
				if sub.URL == "token" && tokenURL == "" {
					tokenURL = sub.ValueURI
				}
			}
		}
	}
	slices.Sort(c.ResourceTypes)
	c.ResourceTypes = slices.Compact(c.ResourceTypes)
	return tokenURL
}

// getJSON GETs base-relative ref through client and decodes the JSON answer into v.
func getJSON(ctx context.Context, client *Client, ref string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDiscoveryBody)).Decode(v); err != nil {
		return fmt.Errorf("reading %q: %w", redact.Of(resp.Request.URL), err)
	}
	return nil
}

// discover reads the CapabilityStatement and, for SMART, the smart-configuration, and returns
// the token endpoint: the well-known one, else the CapabilityStatement's oauth-uris one
// (AU-01, AU-05, EC-37), resolved against the base URL (AU-04, EC-38). A failing metadata
// request is only a warning unless its token URL is needed; a server that gives no HTTP answer
// at all (refused, unknown host, time-out, after the retries) is ErrUnreachable.
func (c *Client) discover(ctx context.Context, needToken bool) (string, error) {
	var cs capabilityStatement
	metaErr := getJSON(ctx, c, "metadata", &cs)
	if metaErr != nil && !unreachable(metaErr) {
		c.log.Warn("could not read the server's CapabilityStatement", "error", metaErr)
	}
	fallback := cs.apply(&c.caps)
	if !needToken {
		if unreachable(metaErr) {
			return "", fmt.Errorf("%w: %s: %w", ErrUnreachable, redact.Of(c.base), metaErr)
		}
		return "", nil
	}
	wellKnownErr := getJSON(ctx, c, ".well-known/smart-configuration", &c.caps.SMART)
	tokenURL := c.caps.SMART.TokenEndpoint
	if tokenURL == "" {
		tokenURL = fallback
	}
	if tokenURL == "" && unreachable(wellKnownErr) && unreachable(metaErr) {
		return "", fmt.Errorf("%w: %s: %w", ErrUnreachable, redact.Of(c.base), metaErr)
	}
	if tokenURL == "" {
		return "", fmt.Errorf("%w: server %s does not expose an OAuth token endpoint (smart-configuration: %v; metadata: %v)",
			ErrAuthFailed, redact.Of(c.base), errOrMissing(wellKnownErr), errOrMissing(metaErr))
	}
	ref, err := url.Parse(tokenURL)
	if err != nil {
		return "", fmt.Errorf("%w: token endpoint %q: %w", ErrAuthFailed, tokenURL, err)
	}
	resolved := c.base.ResolveReference(ref)
	if err := checkSecureURL("token endpoint", resolved); err != nil {
		return "", err
	}
	c.caps.SMART.TokenEndpoint = resolved.String()
	c.warnAboutSMART()
	return c.caps.SMART.TokenEndpoint, nil
}

// unreachable reports whether a request failed without any HTTP answer (refused, DNS, timeout).
func unreachable(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue)
}

func errOrMissing(err error) any {
	if err != nil {
		return err
	}
	return "no token endpoint"
}

// warnAboutSMART logs advertised capabilities that look wrong; servers often advertise badly,
// so these are warnings, not failures (AU-03).
func (c *Client) warnAboutSMART() {
	s := c.caps.SMART
	if len(s.GrantTypes) > 0 && !slices.Contains(s.GrantTypes, "client_credentials") {
		c.log.Warn("the server does not advertise the client_credentials grant", "grant_types_supported", s.GrantTypes)
	}
	if len(s.SigningAlgorithms) > 0 && !slices.Contains(s.SigningAlgorithms, c.auth.key.Algorithm()) {
		c.log.Warn("the server does not advertise our signing algorithm", "alg", c.auth.key.Algorithm(),
			"token_endpoint_auth_signing_alg_values_supported", s.SigningAlgorithms)
	}
}
