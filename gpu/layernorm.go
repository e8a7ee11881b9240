//go:build cgo && !js

package gpu

import "github.com/ideal-fsad/ideal/kernels"

// LayerNorm implements kernels.Backend (shaders/layernorm.comp).
func (b *backend) LayerNorm(dst, x, gamma, beta kernels.Tensor, eps float32) {
	m, c := kernels.CheckLayerNorm(dst, x, gamma, beta)
	b.do(func() {
		b.run(b.program("layernorm.comp"), [3]int{m, 1, 1},
			[]uint32{b.buf(x, "LayerNorm"), b.buf(gamma, "LayerNorm"), b.buf(beta, "LayerNorm"), b.buf(dst, "LayerNorm")},
			"M", m, "C", c, "eps", eps)
	})
}
