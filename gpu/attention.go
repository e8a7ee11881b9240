//go:build cgo && !js

package gpu

import "github.com/ideal-fsad/ideal/kernels"

// maxHeadDim bounds the head width of Attention's kernel: the key and value tiles
// (2·32·dh floats) must fit the 32 KiB of shared memory every GL 4.3 implementation
// has. Wider heads run on the CPU (onCPU).
const maxHeadDim = 128

// Attention implements kernels.Backend (shaders/attention.comp).
func (b *backend) Attention(dst, q, k, v, mask kernels.Tensor, heads int, scale float32) {
	nq, nk, c := kernels.CheckAttention(dst, q, k, v, mask, heads)
	dh := c / heads
	if dh > maxHeadDim {
		b.onCPU("Attention", []kernels.Tensor{dst, q, k, v, mask}, []int{0}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.Attention(t[0], t[1], t[2], t[3], t[4], heads, scale)
		})
		return
	}
	b.do(func() {
		b.run(b.program("attention.comp", def("DH", dh)), [3]int{ceilDiv(nq, 64), heads, 1},
			[]uint32{b.buf(q, "Attention"), b.buf(k, "Attention"), b.buf(v, "Attention"), b.buf(mask, "Attention"), b.buf(dst, "Attention")},
			"Nq", nq, "Nk", nk, "C", c, "hasMask", mask != nil, "scale", scale)
	})
}
