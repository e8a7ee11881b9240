package cpu

import "github.com/ideal-fsad/ideal/kernels"

// MatMul implements kernels.Backend.
func (be *Backend) MatMul(dst, a, b kernels.Tensor, transB bool, ep kernels.Epilogue) {
	m, n, k := kernels.CheckMatMul(dst, a, b, transB, ep)
	ldb := n
	if transB {
		ldb = k
	}
	c, res := out(dst), raw(ep.Residual)
	kernels.Check(!sameStart(raw(a), c) && !sameStart(raw(b), c), "MatMul", "dst aliases an operand")
	g := &gemmArgs{m: m, n: n, k: k, a: raw(a), lda: k, b: raw(b), ldb: ldb, transB: transB,
		c: c, ldc: n, bias: raw(ep.Bias), gamma: raw(ep.Gamma), gelu: ep.GELU, res: res, ldr: n}
	g.packed = be.cachedPanels(b.(*tensor), g)
	be.gemm(g)
}

// packedB is a tensor's data packed as GEMM B panels for one micro-kernel.
type packedB struct {
	ver    uint64
	kern   *microKernel
	transB bool
	k, n   int
	data   []float32
}

// cachedPanels returns b's packed panels for this product, packing and caching
// them the second time b is used unchanged (so weights are packed once, while
// activations that change between calls are never cached), or nil.
func (be *Backend) cachedPanels(b *tensor, g *gemmArgs) []float32 {
	if g.m < 2*be.kern.mr || g.k == 0 || g.n == 0 {
		return nil // too small to be worth the memory
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if p := b.pack; p != nil && p.ver == b.ver && p.kern == be.kern && p.transB == g.transB && p.k == g.k && p.n == g.n {
		return p.data
	}
	if b.seen != b.ver+1 {
		b.seen = b.ver + 1
		return nil
	}
	npan := (g.n + be.kern.nr - 1) / be.kern.nr
	p := &packedB{ver: b.ver, kern: be.kern, transB: g.transB, k: g.k, n: g.n, data: make([]float32, g.k*npan*be.kern.nr)}
	be.packAllB(p.data, g)
	b.pack = p
	return p.data
}
