package cpu

import "github.com/ideal-fsad/ideal/kernels"

// AddScaled implements kernels.Backend.
func (be *Backend) AddScaled(dst, a, b kernels.Tensor, s float32) {
	kernels.CheckAddScaled(dst, a, b)
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
