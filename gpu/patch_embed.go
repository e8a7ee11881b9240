//go:build cgo && !js

package gpu

import "github.com/ideal-fsad/ideal/kernels"

// maxPatch bounds the patch size of PatchEmbed: a token's 3·p² pixels are staged in
// shared memory.
const maxPatch = 64

// PatchEmbed implements kernels.Backend (shaders/patch_embed.comp).
func (b *backend) PatchEmbed(dst, img, w, bias, cls, pos kernels.Tensor, patch int) {
	c, gh, gw, off := kernels.PatchEmbedDims(dst, img, w, bias, cls, pos, patch)
	kernels.Check(patch <= maxPatch, "PatchEmbed", "patch %d > %d, the most the gpu backend supports", patch, maxPatch)
	rows := off + gh*gw
	b.do(func() {
		b.run(b.program("patch_embed.comp", def("P", patch)), [3]int{ceilDiv(c, 64), rows, 1},
			[]uint32{b.buf(img, "PatchEmbed"), b.buf(w, "PatchEmbed"), b.buf(bias, "PatchEmbed"), b.buf(cls, "PatchEmbed"), b.buf(pos, "PatchEmbed"), b.buf(dst, "PatchEmbed")},
			"C", c, "GW", gw, "H", gh*patch, "W", gw*patch, "off", off, "rows", rows, "hasPos", pos != nil)
	})
}
