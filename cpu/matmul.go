package cpu

import "github.com/ideal-fsad/ideal/kernels"

// MatMul implements kernels.Backend.
func (be *Backend) MatMul(dst, a, b kernels.Tensor, transB bool, ep kernels.Epilogue) {
	m, n, k := kernels.MatMulDims(dst, a, b, transB, ep)
	ldb := n
	if transB {
		ldb = k
	}
	c, res := raw(dst), raw(ep.Residual)
	kernels.Check(!sameStart(raw(a), c) && !sameStart(raw(b), c), "MatMul", "dst aliases an operand")
	be.gemm(&gemmArgs{m: m, n: n, k: k, a: raw(a), lda: k, b: raw(b), ldb: ldb, transB: transB,
		c: c, ldc: n, bias: raw(ep.Bias), gamma: raw(ep.Gamma), gelu: ep.GELU, res: res, ldr: n})
}
