package auth

import (
	"slices"
	"strings"
)

// Scopes returns the sorted system scopes for reading the given resource types (AU-40, AU-41):
// system/<Type>.read, or system/<Type>.rs when v2 is set. Binary is added when DocumentReference
// is asked for, since clinical notes are fetched as Binary.
func Scopes(resources []string, v2 bool) []string {
	return scopesFor(withBinary(resources, nil), suffix(v2))
}

// ScopeHints is what a server says about the scopes it can grant.
type ScopeHints struct {
	V2Only    bool     // its SMART capabilities list permission-v2 and not permission-v1
	Supported []string // its scopes_supported: a hint, the server may grant others
	Types     []string // the resource types of its CapabilityStatement; empty when unknown
}

// ChooseScopes picks the scopes to ask for to read resources from a server (issue 13 item 3;
// AU-40..AU-42), and the same in the other syntax, for one more try after invalid_scope (EC-34):
//   - the syntax is SMART v2 (.rs) when the server is v2 only, or when scopes_supported lists
//     v2 system scopes and no v1 ones; otherwise v1 (.read), as Cumulus ETL does;
//   - Binary joins DocumentReference only when the server has Binary (or does not say);
//   - one scope per type when scopes_supported lists them all, or lists no wildcard (least
//     privilege); the wildcard system/*.read (or .rs) when it is listed and a type's own scope
//     is not.
func ChooseScopes(resources []string, h ScopeHints) (first, other []string) {
	types := withBinary(resources, h.Types)
	v2 := h.V2Only || listsOnlyV2(h.Supported)
	return chooseForm(types, suffix(v2), h.Supported), chooseForm(types, suffix(!v2), h.Supported)
}

func chooseForm(types []string, sfx string, supported []string) []string {
	per := scopesFor(types, sfx)
	wildcard := "system/*" + sfx
	if !slices.Contains(supported, wildcard) {
		return per
	}
	for _, s := range per {
		if !slices.Contains(supported, s) {
			return []string{wildcard}
		}
	}
	return per
}

// withBinary returns resources sorted and deduplicated, plus Binary when DocumentReference is
// among them and the server has Binary or does not list its types.
func withBinary(resources, serverTypes []string) []string {
	types := slices.Clone(resources)
	if slices.Contains(types, "DocumentReference") && (len(serverTypes) == 0 || slices.Contains(serverTypes, "Binary")) {
		types = append(types, "Binary")
	}
	slices.Sort(types)
	return slices.Compact(types)
}

func suffix(v2 bool) string {
	if v2 {
		return ".rs"
	}
	return ".read"
}

func scopesFor(types []string, sfx string) []string {
	out := make([]string, 0, len(types))
	for _, t := range types {
		out = append(out, "system/"+t+sfx)
	}
	return out
}

// listsOnlyV2 reports whether scopes_supported has v2 system scopes (system/X.rs, .cruds, ...)
// and no v1 ones (system/X.read, .write, .*).
func listsOnlyV2(supported []string) bool {
	v1, v2 := false, false
	for _, s := range supported {
		rest, ok := strings.CutPrefix(s, "system/")
		if !ok {
			continue
		}
		_, perms, _ := strings.Cut(rest, ".")
		perms, _, _ = strings.Cut(perms, "?")
		switch {
		case perms == "read" || perms == "write" || perms == "*":
			v1 = true
		case perms != "" && strings.Trim(perms, "cruds") == "":
			v2 = true
		}
	}
	return v2 && !v1
}
