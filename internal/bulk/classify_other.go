//go:build !amd64

package bulk

// classify64 sets m to the classes of the 64 bytes p starts with.
func classify64(p []byte, m *blockMasks) { classify64Generic(p, m) }

// useVector is false: there is no vector kernel for this architecture.
var useVector = false
