//go:build cgo && !js

package gpu

import "github.com/ideal-fsad/ideal/kernels"

// maxProjectionShared bounds 2C + M (float32 values in shared memory: the row, its
// projection and the M coefficients) within 32 KiB; beyond it (or for an empty C or
// M, which the kernel's arrays cannot have) Projection runs on the CPU (onCPU).
const maxProjectionShared = 7680

// Projection implements kernels.Backend (shaders/projection.comp).
func (b *backend) Projection(dst, d, tstar kernels.Tensor) {
	n, c, m := kernels.CheckProjection(dst, d, tstar)
	if n == 0 {
		return
	}
	if 2*c+m > maxProjectionShared || c == 0 || m == 0 {
		b.onCPU("Projection", []kernels.Tensor{dst, d, tstar}, []int{0}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.Projection(t[0], t[1], t[2])
		})
		return
	}
	b.do(func() {
		b.run(b.program("projection.comp", def("C", c), def("M", m)), [3]int{n, 1, 1},
			[]uint32{b.buf(d, "Projection"), b.buf(tstar, "Projection"), b.buf(dst, "Projection")}, "Nrows", n)
	})
}
