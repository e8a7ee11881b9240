//go:build cgo && !js

package gpu

import (
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/shaders"
)

// maxTopK bounds k in CosineTopK's kernel: each invocation keeps a k-long list in
// registers. A larger k (or more rows of b than one row of the dot-product scratch
// can hold) runs on the CPU (onCPU).
const maxTopK = 256

// dotsBudget is the most float32 values of the scratch dot-product matrix (64 MiB,
// less where GL_MAX_SHADER_STORAGE_BLOCK_SIZE is smaller): rows of a are processed in
// chunks that fit.
const dotsBudget = 1 << 24

// CosineTopK implements kernels.Backend (shaders/cosine_topk.comp): the row norms of
// a and b, then per chunk of rows of a the dot products with every row of b by the
// tiled matmul kernel, then a per-row top-k over dot/(‖a‖‖b‖).
func (b *backend) CosineTopK(vals, idx, a, bt kernels.Tensor, k int) {
	na, nb, c := kernels.CheckCosineTopK(vals, idx, a, bt, k)
	if na == 0 {
		return
	}
	if k > maxTopK || nb > min(dotsBudget, b.block) {
		b.onCPU("CosineTopK", []kernels.Tensor{vals, idx, a, bt}, []int{0, 1}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.CosineTopK(t[0], t[1], t[2], t[3], k)
		})
		return
	}
	chunk := max(1, min(na, min(dotsBudget, b.block)/nb))
	b.do(func() {
		ab, bb := b.buf(a, "CosineTopK"), b.buf(bt, "CosineTopK")
		an, bn, dots := scratch(na), scratch(nb), scratch(chunk*nb)
		norms := b.program("cosine_topk.comp", shaders.Define{Name: "NORMS", Value: "1"})
		b.run(norms, [3]int{na, 1, 1}, []uint32{ab, an}, "R", na, "C", c)
		b.run(norms, [3]int{nb, 1, 1}, []uint32{bb, bn}, "R", nb, "C", c)
		topk := b.program("cosine_topk.comp", def("K", k))
		for r0 := 0; r0 < na; r0 += chunk {
			rows := min(chunk, na-r0)
			b.matmul(dots, ab, bb, rows, nb, c, r0*c, true, kernels.Epilogue{})
			b.run(topk, [3]int{rows, 1, 1},
				[]uint32{dots, an, bn, b.buf(vals, "CosineTopK"), b.buf(idx, "CosineTopK")},
				"row0", r0, "rows", rows, "Nb", nb)
		}
		glDeleteBuffer(an)
		glDeleteBuffer(bn)
		glDeleteBuffer(dots)
	})
}
