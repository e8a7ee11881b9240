package cpu

import "github.com/ideal-fsad/ideal/kernels"

// GELU implements kernels.Backend.
func (be *Backend) GELU(dst, x kernels.Tensor) {
	kernels.Check(kernels.Numel(dst) == kernels.Numel(x), "GELU", "dst %v x %v", dst.Shape(), x.Shape())
	D, X := out(dst), raw(x)
	const chunk = 16384
	be.parallel((len(X)+chunk-1)/chunk, func(u int, _ *scratch) {
		lo, hi := u*chunk, min(len(X), (u+1)*chunk)
		be.kern.gelu(D[lo:hi], X[lo:hi])
	})
}
