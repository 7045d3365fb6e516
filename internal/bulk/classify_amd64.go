package bulk

import "golang.org/x/sys/cpu"

// useVector says whether classify64 may use its vector kernel (AVX2 here).
var useVector = cpu.X86.HasAVX2

// classify64AVX2 is classify64Generic with AVX2 (classify_amd64.s): 32 bytes per compare.
//
//go:noescape
func classify64AVX2(p *byte, m *blockMasks)

// classify64 sets m to the classes of the 64 bytes p starts with.
func classify64(p []byte, m *blockMasks) {
	if useVector {
		classify64AVX2(&p[:64][0], m)
		return
	}
	classify64Generic(p, m)
}
