package cpu

import "github.com/ideal-fsad/ideal/kernels"

// Bicubic implements kernels.Backend separably: the horizontal pass over the input
// rows, then the vertical pass, both with kernels.BicubicTaps (PyTorch's taps).
func (be *Backend) Bicubic(dst, src kernels.Tensor, hi, wi, ho, wo int, scaleH, scaleW float64) {
	c := kernels.CheckBicubic(dst, src, hi, wi, ho, wo)
	S, D := raw(src), out(dst)
	yi, yw := kernels.BicubicTaps(hi, ho, scaleH)
	xi, xw := kernels.BicubicTaps(wi, wo, scaleW)
	clamp := func(v, n int) int { return max(0, min(n-1, v)) }
	tmp := make([]float32, hi*wo*c) // small: the position grid
	be.parallel(hi, func(y int, _ *scratch) {
		for ox := range wo {
			out := tmp[(y*wo+ox)*c : (y*wo+ox+1)*c]
			clear(out)
			for t := range 4 {
				wt := float32(xw[ox][t])
				in := S[(y*wi+clamp(xi[ox]-1+t, wi))*c:][:c]
				for ch := range out {
					out[ch] += wt * in[ch]
				}
			}
		}
	})
	be.parallel(ho, func(oy int, _ *scratch) {
		for ox := range wo {
			out := D[(oy*wo+ox)*c : (oy*wo+ox+1)*c]
			clear(out)
			for t := range 4 {
				wt := float32(yw[oy][t])
				in := tmp[(clamp(yi[oy]-1+t, hi)*wo+ox)*c:][:c]
				for ch := range out {
					out[ch] += wt * in[ch]
				}
			}
		}
	})
}
