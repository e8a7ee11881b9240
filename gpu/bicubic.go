//go:build cgo && !js

package gpu

import (
	"unsafe"

	"github.com/ideal-fsad/ideal/kernels"
)

// Bicubic implements kernels.Backend (shaders/bicubic.comp). The taps come from
// kernels.BicubicTaps (float64) and are uploaded per call: the op runs once per image
// size (position-embedding interpolation), so their cost does not matter.
func (b *backend) Bicubic(dst, src kernels.Tensor, hi, wi, ho, wo int, scaleH, scaleW float64) {
	c := kernels.CheckBicubic(dst, src, hi, wi, ho, wo)
	ty, tx := taps(hi, ho, scaleH), taps(wi, wo, scaleW)
	b.do(func() {
		by := glNewBuffer(4*len(ty), unsafe.Pointer(&ty[0]))
		bx := glNewBuffer(4*len(tx), unsafe.Pointer(&tx[0]))
		b.run(b.program("bicubic.comp"), [3]int{ceilDiv(ho*wo*c, 256), 1, 1},
			[]uint32{b.buf(src, "Bicubic"), by, bx, b.buf(dst, "Bicubic")},
			"Hi", hi, "Wi", wi, "Ho", ho, "Wo", wo, "C", c)
		glDeleteBuffer(by)
		glDeleteBuffer(bx)
	})
}

// taps packs kernels.BicubicTaps as 5 floats per output index (floor index, four
// weights); at least one entry so the buffer is never empty.
func taps(in, out int, scale float64) []float32 {
	idx, w := kernels.BicubicTaps(in, out, scale)
	t := make([]float32, max(5*out, 5))
	for o := range idx {
		t[5*o] = float32(idx[o])
		for j := range 4 {
			t[5*o+1+j] = float32(w[o][j])
		}
	}
	return t
}
