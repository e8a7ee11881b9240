//go:build cgo && !js

package gpu

import "github.com/ideal-fsad/ideal/kernels"

// maxProjectionShared bounds 2C + M (float32 values in shared memory: the row, its
// projection and the M coefficients) within 32 KiB.
const maxProjectionShared = 7680

// Projection implements kernels.Backend (shaders/projection.comp).
func (b *backend) Projection(dst, d, tstar kernels.Tensor) {
	n, c, m := kernels.Rows(d), kernels.Cols(d), kernels.Rows(tstar)
	kernels.Check(kernels.Cols(tstar) == c && kernels.Numel(dst) == n, "Projection", "dst %v d %v tstar %v", dst.Shape(), d.Shape(), tstar.Shape())
	kernels.Check(2*c+m <= maxProjectionShared && c > 0 && m > 0, "Projection", "C = %d, M = %d: the gpu backend supports 2C + M ≤ %d, C, M ≥ 1", c, m, maxProjectionShared)
	b.do(func() {
		b.run(b.program("projection.comp", def("C", c), def("M", m)), [3]int{n, 1, 1},
			[]uint32{b.buf(d, "Projection"), b.buf(tstar, "Projection"), b.buf(dst, "Projection")}, "Nrows", n)
	})
}
