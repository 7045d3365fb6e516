package etl

import (
	"net/url"
	"strings"
)

// redactExportURL is what an export's kick-off URL may say in the output folder (export_url in
// etl__completion and job_config.json): the scheme, host, path and the _type, _since and _until
// parameters, which tell which data was asked for. Every other parameter (patient=,
// _typeFilter=...identifier=..., _elements) may carry PHI and is dropped, and so are user info and
// a fragment; a kept parameter whose value is not a list of resource types or a date is dropped
// too. Cumulus ETL copies the whole URL; the README says we do not. Something that is not an
// absolute URL gives "".
func redactExportURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	var kept []string
	for _, pair := range strings.Split(u.RawQuery, "&") {
		key, value, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(key)
		v, err2 := url.QueryUnescape(value)
		if err1 == nil && err2 == nil && safeExportParam(k, v) {
			kept = append(kept, pair)
		}
	}
	out := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath, RawQuery: strings.Join(kept, "&")}
	return out.String()
}

// safeExportParam reports whether an export parameter may be kept: _type with resource type
// names, _since or _until with a date or instant.
func safeExportParam(key, value string) bool {
	switch key {
	case "_type":
		for _, t := range strings.Split(value, ",") {
			if t == "" || strings.Trim(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
				return false
			}
		}
		return true
	case "_since", "_until":
		return value != "" && strings.Trim(value, "0123456789-:.TZ+") == ""
	}
	return false
}

// describeInput is INPUT as job_config.json records it: a folder as given, a URL as
// redactExportURL keeps it.
func describeInput(input string) string {
	if strings.Contains(input, "://") {
		return redactExportURL(input)
	}
	return input
}
