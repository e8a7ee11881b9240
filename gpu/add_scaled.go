//go:build cgo && !js

package gpu

import "github.com/ideal-fsad/ideal/kernels"

// AddScaled implements kernels.Backend (shaders/add_scaled.comp).
func (b *backend) AddScaled(dst, a, bt kernels.Tensor, s float32) {
	n := kernels.CheckAddScaled(dst, a, bt)
	b.do(func() {
		b.run(b.program("add_scaled.comp"), [3]int{ceilDiv(n, 256), 1, 1},
			[]uint32{b.buf(a, "AddScaled"), b.buf(bt, "AddScaled"), b.buf(dst, "AddScaled")}, "n", uint32(n), "s", s)
	})
}
