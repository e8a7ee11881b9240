//go:build cgo && !js

package gpu

import "github.com/ideal-fsad/ideal/kernels"

// Softmax implements kernels.Backend (shaders/softmax.comp).
func (b *backend) Softmax(dst, x kernels.Tensor) {
	m, n := kernels.Rows(x), kernels.Cols(x)
	kernels.Check(kernels.Numel(dst) == m*n, "Softmax", "dst %v x %v", dst.Shape(), x.Shape())
	b.do(func() {
		b.run(b.program("softmax.comp"), [3]int{m, 1, 1},
			[]uint32{b.buf(x, "Softmax"), b.buf(dst, "Softmax")}, "M", m, "N", n)
	})
}
