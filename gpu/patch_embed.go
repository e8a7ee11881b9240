//go:build cgo && !js

package gpu

import "github.com/ideal-fsad/ideal/kernels"

// maxPatch bounds the patch size of PatchEmbed's kernel: a token's 3·p² pixels are
// staged in shared memory. Larger patches run on the CPU (onCPU).
const maxPatch = 64

// PatchEmbed implements kernels.Backend (shaders/patch_embed.comp).
func (b *backend) PatchEmbed(dst, img, w, bias, cls, pos kernels.Tensor, patch int) {
	c, gh, gw, off := kernels.CheckPatchEmbed(dst, img, w, bias, cls, pos, patch)
	if patch > maxPatch {
		b.onCPU("PatchEmbed", []kernels.Tensor{dst, img, w, bias, cls, pos}, []int{0}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.PatchEmbed(t[0], t[1], t[2], t[3], t[4], t[5], patch)
		})
		return
	}
	rows := off + gh*gw
	b.do(func() {
		b.run(b.program("patch_embed.comp", def("P", patch)), [3]int{ceilDiv(c, 64), rows, 1},
			[]uint32{b.buf(img, "PatchEmbed"), b.buf(w, "PatchEmbed"), b.buf(bias, "PatchEmbed"), b.buf(cls, "PatchEmbed"), b.buf(pos, "PatchEmbed"), b.buf(dst, "PatchEmbed")},
			"C", c, "GW", gw, "H", gh*patch, "W", gw*patch, "off", off, "rows", rows, "hasPos", pos != nil)
	})
}
