package auth

import "strings"

// UngrantedScopes returns the requested scopes that the granted scope string (a token
// response's space-separated scope) does not cover (AU-22): a grant covers a request for the
// same or the wildcard type with at least the same permissions, v1 and v2 syntax alike
// (.read = .rs, .write = .cud, .* = .cruds; AU-41). An empty grant means the server did not
// say, which RFC 6749 §5.1 allows when it granted what was asked, so nothing is missing.
func UngrantedScopes(requested []string, granted string) []string {
	grants := strings.Fields(granted)
	if len(grants) == 0 {
		return nil
	}
	var missing []string
	for _, want := range requested {
		wantType, wantPerms, ok := parseScope(want)
		if !ok {
			continue // a vendor scope (system/*.$export): not ours to judge
		}
		covered := false
		for _, g := range grants {
			gType, gPerms, ok := parseScope(g)
			if ok && (gType == wantType || gType == "*") && containsAll(gPerms, wantPerms) {
				covered = true
				break
			}
		}
		if !covered {
			missing = append(missing, want)
		}
	}
	return missing
}

// parseScope splits system/<Type>.<permissions>[?query] into the type and the v2 permission
// letters; ok is false for anything else.
func parseScope(scope string) (typ, perms string, ok bool) {
	rest, found := strings.CutPrefix(scope, "system/")
	if !found {
		return "", "", false
	}
	rest, _, _ = strings.Cut(rest, "?")
	typ, perms, found = strings.Cut(rest, ".")
	if !found || typ == "" {
		return "", "", false
	}
	switch perms {
	case "read":
		perms = "rs"
	case "write":
		perms = "cud"
	case "*":
		perms = "cruds"
	}
	if perms == "" || strings.Trim(perms, "cruds") != "" {
		return "", "", false
	}
	return typ, perms, true
}

// containsAll reports whether every letter of want is in have.
func containsAll(have, want string) bool {
	for _, r := range want {
		if !strings.ContainsRune(have, r) {
			return false
		}
	}
	return true
}
