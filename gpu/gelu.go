//go:build cgo && !js

package gpu

import "github.com/ideal-fsad/ideal/kernels"

// GELU implements kernels.Backend (shaders/gelu.comp).
func (b *backend) GELU(dst, x kernels.Tensor) {
	n := kernels.Numel(x)
	kernels.Check(kernels.Numel(dst) == n, "GELU", "dst %v x %v", dst.Shape(), x.Shape())
	b.do(func() {
		b.run(b.program("gelu.comp"), [3]int{ceilDiv(n, 256), 1, 1},
			[]uint32{b.buf(x, "GELU"), b.buf(dst, "GELU")}, "n", uint32(n))
	})
}
