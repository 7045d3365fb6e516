// Package redact is the one place that makes URLs safe to print: every message, log line and
// error that names a URL passes it through URL first. A pre-signed storage URL (S3, GCS, Azure)
// or a URL carrying a token in its query is a credential for as long as it lives.
package redact

import (
	"net/url"
	"slices"
	"strings"
)

// Placeholder replaces every secret value.
const Placeholder = "REDACTED"

// secretPrefixes mark query parameters whose values are all treated as secret: the whole family
// of AWS and Google signing parameters.
var secretPrefixes = []string{"x-amz-", "x-goog-"}

// secretWords mark query parameters whose values are credentials when the name contains one of
// them (case-insensitively): Signature, sig (Azure SAS), token, access_token, code (OAuth),
// Key-Pair-Id and Policy (CloudFront), credential, secret, password, session, auth.
var secretWords = []string{"sig", "token", "code", "key", "policy", "credential", "secret", "passw", "session", "auth", "jwt"}

// patientParams are FHIR search parameters whose values name a patient (a Patient id, an MRN):
// PHI, which a crawl's search URLs carry and which must not reach terminals and logs either.
// Modifiers and chains count (patient:Patient, subject.identifier).
var patientParams = []string{"patient", "subject", "_id", "identifier"}

// Secret reports whether a query parameter's value must not be shown.
func Secret(name string) bool {
	lower := strings.ToLower(name)
	if base, _, _ := strings.Cut(lower, ":"); slices.Contains(patientParams, strings.SplitN(base, ".", 2)[0]) {
		return true
	}
	for _, p := range secretPrefixes {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	for _, w := range secretWords {
		if strings.Contains(lower, w) {
			return true
		}
	}
	return false
}

// URL returns raw with the password of its user information and the value of every secret
// query parameter replaced by Placeholder; everything else (scheme, host, path, the order and
// text of other parameters) is kept, so the URL still says which file it was. Text that does
// not parse as a URL is returned with any query part replaced.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if base, _, found := strings.Cut(raw, "?"); found {
			return base + "?" + Placeholder
		}
		return raw
	}
	return Of(u)
}

// Of is URL for a parsed URL.
func Of(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		if _, has := c.User.Password(); has {
			c.User = url.UserPassword(c.User.Username(), Placeholder)
		}
	}
	c.RawQuery = query(c.RawQuery)
	if c.Fragment != "" && strings.Contains(c.Fragment, "=") { // OAuth implicit-flow style fragments
		c.Fragment, c.RawFragment = query(c.Fragment), ""
	}
	return c.String()
}

// query redacts the secret values of a raw query, keeping its order and encoding.
func query(raw string) string {
	if raw == "" {
		return raw
	}
	parts := strings.Split(raw, "&")
	for i, kv := range parts {
		k, _, hasValue := strings.Cut(kv, "=")
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if hasValue && Secret(name) {
			parts[i] = k + "=" + Placeholder
		}
	}
	return strings.Join(parts, "&")
}

// Secrets returns text with every secret query value of the given URLs replaced by
// Placeholder, in both its raw and its decoded form: error bodies sometimes echo a request's
// signature or access key (S3's SignatureDoesNotMatch does).
func Secrets(text string, urls ...string) string {
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		if p, has := u.User.Password(); has && p != "" {
			text = strings.ReplaceAll(text, p, Placeholder)
		}
		for _, kv := range strings.Split(u.RawQuery, "&") {
			k, v, _ := strings.Cut(kv, "=")
			name, err := url.QueryUnescape(k)
			if err != nil || !Secret(name) || len(v) < 4 {
				continue
			}
			decoded, _ := url.QueryUnescape(v)
			for _, s := range []string{v, decoded} {
				if len(s) >= 4 {
					text = strings.ReplaceAll(text, s, Placeholder)
				}
			}
			// An AWS credential's access key id (AKIA...) is echoed alone.
			if id, _, found := strings.Cut(decoded, "/"); found && len(id) >= 4 {
				text = strings.ReplaceAll(text, id, Placeholder)
			}
		}
	}
	return text
}
