package auth

import (
	"slices"
	"testing"
)

// TestIssue13Item3ScopesTheServerCanGrant (AU-42, EC-34): scopes follow what the server says it
// grants, and come with the other syntax for one more try after invalid_scope.
func TestIssue13Item3ScopesTheServerCanGrant(t *testing.T) {
	reference := []string{"system/*.rs", "system/Patient.rs", "system/DocumentReference.rs", "system/*.read", "system/Patient.read", "system/DocumentReference.read"}
	cases := []struct {
		name        string
		resources   []string
		hints       ScopeHints
		first, next []string
	}{
		{"nothing said: v1 per type, Binary with DocumentReference", []string{"Patient", "DocumentReference"}, ScopeHints{},
			[]string{"system/Binary.read", "system/DocumentReference.read", "system/Patient.read"},
			[]string{"system/Binary.rs", "system/DocumentReference.rs", "system/Patient.rs"}},
		{"no Binary on the server: no Binary scope (the reference server refuses it)", []string{"Patient", "DocumentReference"},
			ScopeHints{Supported: reference, Types: []string{"DocumentReference", "Patient"}},
			[]string{"system/DocumentReference.read", "system/Patient.read"}, []string{"system/DocumentReference.rs", "system/Patient.rs"}},
		{"a type without its own listed scope: the listed wildcard", []string{"Patient", "Condition"},
			ScopeHints{Supported: reference}, []string{"system/*.read"}, []string{"system/*.rs"}},
		{"only v2 scopes listed: v2 first", []string{"Patient"}, ScopeHints{Supported: []string{"system/Patient.rs", "system/*.cruds"}},
			[]string{"system/Patient.rs"}, []string{"system/Patient.read"}},
		{"v2 only capabilities", []string{"Patient"}, ScopeHints{V2Only: true}, []string{"system/Patient.rs"}, []string{"system/Patient.read"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first, next := ChooseScopes(tc.resources, tc.hints)
			if !slices.Equal(first, tc.first) || !slices.Equal(next, tc.next) {
				t.Errorf("got %v then %v, want %v then %v", first, next, tc.first, tc.next)
			}
		})
	}
}
