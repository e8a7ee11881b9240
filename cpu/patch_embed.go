package cpu

import "github.com/ideal-fsad/ideal/kernels"

// PatchEmbed implements kernels.Backend as im2col (one row of 3·patch² pixels per
// patch, in the weight's [3, patch, patch] order) followed by the GEMM with the bias
// and the position embedding fused as epilogue.
func (be *Backend) PatchEmbed(dst, img, w, bias, cls, pos kernels.Tensor, patch int) {
	c, gh, gw, off := kernels.CheckPatchEmbed(dst, img, w, bias, cls, pos, patch)
	I, D, P := raw(img), out(dst), raw(pos)
	H, W := gh*patch, gw*patch
	kk := 3 * patch * patch
	n := gh * gw
	bufp := bigPool.Get().(*[]float32)
	defer bigPool.Put(bufp)
	cols := grow(bufp, n*kk)
	be.parallel(gh, func(gy int, _ *scratch) {
		for gx := range gw {
			row := cols[(gy*gw+gx)*kk : (gy*gw+gx+1)*kk]
			for ch := range 3 {
				for ky := range patch {
					src := I[(ch*H+gy*patch+ky)*W+gx*patch : (ch*H+gy*patch+ky)*W+gx*patch+patch]
					copy(row[(ch*patch+ky)*patch:], src)
				}
			}
		}
	})
	g := &gemmArgs{m: n, n: c, k: kk, a: cols, lda: kk, b: raw(w), ldb: kk, transB: true,
		c: D[off*c:], ldc: c, bias: raw(bias)}
	if P != nil {
		g.res, g.ldr = P[off*c:], c
	}
	be.gemm(g)
	if cls != nil {
		copy(D[:c], raw(cls))
		if P != nil {
			for j := range c {
				D[j] += P[j]
			}
		}
	}
}
