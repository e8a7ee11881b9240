//go:build cgo && !js

package gpu

import "github.com/ideal-fsad/ideal/kernels"

// Limits of NVE (MAXK, MAXR, MAXC in shaders/nve.comp), from the 32 KiB of shared
// memory every GL 4.3 implementation has: two k×k float64 matrices, C float32 values
// and r×k coefficients per work group.
const (
	maxNVEK = 32
	maxNVER = 8
	maxNVEC = 3072
)

// NVE implements kernels.Backend (shaders/nve.comp).
func (b *backend) NVE(dst, f, normals, vals, idx kernels.Tensor, r int, alpha float32) {
	na, _, c, k := kernels.NVEDims(dst, f, normals, vals, idx, r)
	kernels.Check(k <= maxNVEK && r <= maxNVER && c <= maxNVEC, "NVE", "k = %d, r = %d, C = %d: the gpu backend supports k ≤ %d, r ≤ %d, C ≤ %d",
		k, r, c, maxNVEK, maxNVER, maxNVEC)
	if na == 0 || c == 0 {
		return
	}
	b.do(func() {
		b.run(b.program("nve.comp"), [3]int{na, 1, 1},
			[]uint32{b.buf(f, "NVE"), b.buf(normals, "NVE"), b.buf(vals, "NVE"), b.buf(idx, "NVE"), b.buf(dst, "NVE")},
			"Na", na, "K", k, "R", r, "C", c, "alpha", alpha)
	})
}
