package input

import (
	_ "embed"
	"strings"
	"sync"
)

//go:embed r4-resource-types.txt
var r4ResourceTypesText string

// r4ResourceTypes is the set of all FHIR R4 (4.0.1) resource type names.
var r4ResourceTypes = sync.OnceValue(func() map[string]bool {
	set := make(map[string]bool)
	for _, name := range strings.Fields(r4ResourceTypesText) {
		set[name] = true
	}
	return set
})

// isResourceType reports whether name is a FHIR R4 resource type name.
func isResourceType(name string) bool { return r4ResourceTypes()[name] }
