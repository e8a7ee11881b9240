package cpu

import "github.com/ideal-fsad/ideal/kernels"

// AddScaled implements kernels.Backend.
func (be *Backend) AddScaled(dst, a, b kernels.Tensor, s float32) {
	kernels.Check(kernels.Numel(dst) == kernels.Numel(a) && kernels.Numel(a) == kernels.Numel(b), "AddScaled",
		"dst %v a %v b %v", dst.Shape(), a.Shape(), b.Shape())
	D, A, B := out(dst), raw(a), raw(b)
	const chunk = 65536
	be.parallel((len(D)+chunk-1)/chunk, func(u int, _ *scratch) {
		lo, hi := u*chunk, min(len(D), (u+1)*chunk)
		d, x, y := D[lo:hi], A[lo:hi], B[lo:hi]
		for i := range d {
			d[i] = x[i] + s*y[i]
		}
	})
}
