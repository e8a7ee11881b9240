//go:build cgo && !js

package gpu

import "github.com/ideal-fsad/ideal/kernels"

// Limits of NVE (MAXK, MAXR, MAXC in shaders/nve.comp), from the 32 KiB of shared
// memory every GL 4.3 implementation has: two k×k float64 matrices, C float32 values
// and r×k coefficients per work group. Beyond them NVE runs on the CPU (onCPU).
const (
	maxNVEK = 32
	maxNVER = 8
	maxNVEC = 3072
)

// NVE implements kernels.Backend (shaders/nve.comp).
func (b *backend) NVE(dst, f, normals, vals, idx kernels.Tensor, r int, alpha float32) {
	na, _, c, k := kernels.CheckNVE(dst, f, normals, vals, idx, r)
	if na == 0 || c == 0 {
		return
	}
	if k > maxNVEK || r > maxNVER || c > maxNVEC {
		b.onCPU("NVE", []kernels.Tensor{dst, f, normals, vals, idx}, []int{0}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.NVE(t[0], t[1], t[2], t[3], t[4], r, alpha)
		})
		return
	}
	b.do(func() {
		b.run(b.program("nve.comp"), [3]int{na, 1, 1},
			[]uint32{b.buf(f, "NVE"), b.buf(normals, "NVE"), b.buf(vals, "NVE"), b.buf(idx, "NVE"), b.buf(dst, "NVE")},
			"Na", na, "K", k, "R", r, "C", c, "alpha", alpha)
	})
}
