//go:build cgo && !js

package gpu

import (
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/shaders"
)

// MatMul implements kernels.Backend (shaders/matmul.comp).
func (b *backend) MatMul(dst, a, bm kernels.Tensor, transB bool, ep kernels.Epilogue) {
	m, n, k := kernels.CheckMatMul(dst, a, bm, transB, ep)
	b.do(func() {
		b.matmul(b.buf(dst, "MatMul"), b.buf(a, "MatMul"), b.buf(bm, "MatMul"), m, n, k, 0, transB, ep)
	})
}

// matmul dispatches matmul.comp with A starting at element offA. On the GL thread.
func (b *backend) matmul(dst, a, bm uint32, m, n, k, offA int, transB bool, ep kernels.Epilogue) {
	var defs []shaders.Define
	if transB {
		defs = append(defs, shaders.Define{Name: "TRANS_B", Value: "1"})
	}
	p := b.program("matmul.comp", defs...)
	b.run(p, [3]int{ceilDiv(n, 64), ceilDiv(m, 64), 1},
		[]uint32{a, bm, dst, b.buf(ep.Bias, "MatMul"), b.buf(ep.Gamma, "MatMul"), b.buf(ep.Residual, "MatMul")},
		"M", m, "N", n, "K", k, "offA", offA,
		"hasBias", ep.Bias != nil, "doGELU", ep.GELU, "hasGamma", ep.Gamma != nil, "hasRes", ep.Residual != nil)
}
