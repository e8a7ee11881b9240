//go:build cgo && !js

package gpu

import "github.com/ideal-fsad/ideal/kernels"

// maxHeadDim bounds the head width of Attention: the key and value tiles (2·32·dh
// floats) must fit the 32 KiB of shared memory every GL 4.3 implementation has.
const maxHeadDim = 128

// Attention implements kernels.Backend (shaders/attention.comp).
func (b *backend) Attention(dst, q, k, v, mask kernels.Tensor, heads int, scale float32) {
	nq, nk, c := kernels.AttentionDims(dst, q, k, v, mask, heads)
	dh := c / heads
	kernels.Check(dh <= maxHeadDim, "Attention", "head width %d > %d, the most the gpu backend supports", dh, maxHeadDim)
	b.do(func() {
		b.run(b.program("attention.comp", def("DH", dh)), [3]int{ceilDiv(nq, 64), heads, 1},
			[]uint32{b.buf(q, "Attention"), b.buf(k, "Attention"), b.buf(v, "Attention"), b.buf(mask, "Attention"), b.buf(dst, "Attention")},
			"Nq", nq, "Nk", nk, "C", c, "hasMask", mask != nil, "scale", scale)
	})
}
