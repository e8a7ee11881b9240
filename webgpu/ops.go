//go:build js && wasm

package webgpu

import (
	"fmt"
	"syscall/js"

	"github.com/ideal-fsad/ideal/kernels"
)

// CopyRows implements kernels.Backend (wgsl/copy_rows.wgsl).
func (b *Backend) CopyRows(dst kernels.Tensor, dstStart int, src kernels.Tensor, srcStart, n int) {
	c := kernels.CheckCopyRows(dst, dstStart, src, srcStart, n)
	if n*c == 0 {
		return
	}
	g, ok := b.grid(ceilDiv(n*c, 256))
	if why := b.fits(256, 1, 0, g, ok, dst, src); why != "" {
		b.onCPU("CopyRows", why, []kernels.Tensor{dst, src}, []int{0}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.CopyRows(t[0], dstStart, t[1], srcStart, n)
		})
		return
	}
	bd := b.bind("CopyRows", dst)
	bd.in(src) // copied first when src is dst
	bd.outBuf()
	if !bd.dispatch("copy_rows.wgsl", "", g, params(n*c, srcStart*c, dstStart*c)) {
		b.onCPU("CopyRows", "pipeline failed", []kernels.Tensor{dst, src}, []int{0}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.CopyRows(t[0], dstStart, t[1], srcStart, n)
		})
	}
}

// AddScaled implements kernels.Backend (wgsl/add_scaled.wgsl).
func (b *Backend) AddScaled(dst, a, bt kernels.Tensor, s float32) {
	n := kernels.CheckAddScaled(dst, a, bt)
	if n == 0 {
		return
	}
	fallback := func(why string) {
		b.onCPU("AddScaled", why, []kernels.Tensor{dst, a, bt}, []int{0}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.AddScaled(t[0], t[1], t[2], s)
		})
	}
	g, ok := b.grid(ceilDiv(n, 256))
	if why := b.fits(256, 1, 0, g, ok, dst, a, bt); why != "" {
		fallback(why)
		return
	}
	bd := b.bind("AddScaled", dst)
	bd.in(a)
	bd.in(bt)
	bd.outBuf()
	if !bd.dispatch("add_scaled.wgsl", "", g, params(n, s)) {
		fallback("pipeline failed")
	}
}

// LayerNorm implements kernels.Backend (wgsl/layernorm.wgsl).
func (b *Backend) LayerNorm(dst, x, gamma, beta kernels.Tensor, eps float32) {
	m, c := kernels.CheckLayerNorm(dst, x, gamma, beta)
	if m*c == 0 {
		return
	}
	fallback := func(why string) {
		b.onCPU("LayerNorm", why, []kernels.Tensor{dst, x, gamma, beta}, []int{0}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.LayerNorm(t[0], t[1], t[2], t[3], eps)
		})
	}
	g, ok := b.grid(m)
	if why := b.fits(128, 1, 4*128, g, ok, dst, x, gamma, beta); why != "" {
		fallback(why)
		return
	}
	bd := b.bind("LayerNorm", dst)
	bd.in(x)
	bd.in(gamma)
	bd.in(beta)
	bd.outBuf()
	if !bd.dispatch("layernorm.wgsl", "", g, params(m, c, eps)) {
		fallback("pipeline failed")
	}
}

// matmulStorage is the workgroup memory of matmul.wgsl: two 16×17 arrays of vec4.
const matmulStorage = 2 * 16 * 17 * 16

// mmKernel is a MatMul kernel variant: its file and prefix, the side of the block of C
// a work group computes, the work group's x×y size and its workgroup memory.
type mmKernel struct {
	file, prefix        string
	tile, x, y, storage int
}

// matmulKernel picks the MatMul kernel: on a CPU adapter, with B transposed and K a
// multiple of 4, matmul_direct.wgsl (no workgroup memory, no barriers: 4–5× faster on
// SwiftShader at the ViT shapes, BenchmarkKernels); else the tiled matmul.wgsl.
func (b *Backend) matmulKernel(transB bool, k int) mmKernel {
	if b.cpuAdapter && transB && k%4 == 0 {
		return mmKernel{"matmul_direct.wgsl", "", 32, 8, 8, 0}
	}
	prefix := "const TRANS_B = false;\n"
	if transB {
		prefix = "const TRANS_B = true;\n"
	}
	return mmKernel{"matmul.wgsl", prefix, 64, 16, 16, matmulStorage}
}

// grid is the kernel's grid over an m×n result.
func (mk mmKernel) grid(m, n int) [3]int { return [3]int{ceilDiv(n, mk.tile), ceilDiv(m, mk.tile), 1} }

// MatMul implements kernels.Backend (wgsl/matmul.wgsl or matmul_direct.wgsl, with
// matmul_epilogue.wgsl and gelu.wgsl).
func (b *Backend) MatMul(dst, a, bm kernels.Tensor, transB bool, ep kernels.Epilogue) {
	m, n, k := kernels.CheckMatMul(dst, a, bm, transB, ep)
	if m*n == 0 {
		return
	}
	fallback := func(why string) {
		b.onCPU("MatMul", why, []kernels.Tensor{dst, a, bm, ep.Bias, ep.Gamma, ep.Residual}, []int{0}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.MatMul(t[0], t[1], t[2], transB, kernels.Epilogue{Bias: t[3], GELU: ep.GELU, Gamma: t[4], Residual: t[5]})
		})
	}
	mk := b.matmulKernel(transB, k)
	g := mk.grid(m, n)
	if why := b.fits(mk.x, mk.y, mk.storage, g, true, dst, a, bm, ep.Bias, ep.Gamma, ep.Residual); why != "" {
		fallback(why)
		return
	}
	bd := b.bind("MatMul", dst)
	bd.in(a)
	bd.in(bm)
	bd.outBuf()
	bd.in(ep.Bias)
	bd.in(ep.Gamma)
	bd.in(ep.Residual)
	if !bd.dispatch(mk.file, mk.prefix, g, params(m, n, k, ep.Bias != nil, ep.GELU, ep.Gamma != nil, ep.Residual != nil, 0)) {
		fallback("pipeline failed")
	}
}

// Attention implements kernels.Backend (wgsl/attention.wgsl). BKV, the keys staged
// per step, is the largest of 32, 16, 8, 4, 2, 1 whose key and value tiles fit the
// device's workgroup storage; a head too wide for even one runs on the CPU.
func (b *Backend) Attention(dst, q, k, v, mask kernels.Tensor, heads int, scale float32) {
	nq, nk, c := kernels.CheckAttention(dst, q, k, v, mask, heads)
	if nq*c == 0 {
		return
	}
	fallback := func(why string) {
		b.onCPU("Attention", why, []kernels.Tensor{dst, q, k, v, mask}, []int{0}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.Attention(t[0], t[1], t[2], t[3], t[4], heads, scale)
		})
	}
	dh := c / heads
	d4 := (dh + 3) / 4
	bkv := 32
	for bkv > 1 && 2*bkv*d4*16 > b.limits.MaxWorkgroupStorage {
		bkv /= 2
	}
	g := [3]int{ceilDiv(nq, 64), heads, 1}
	if why := b.fits(64, 1, 2*bkv*d4*16, g, true, dst, q, k, v, mask); why != "" {
		fallback(why)
		return
	}
	bd := b.bind("Attention", dst)
	bd.in(q)
	bd.in(k)
	bd.in(v)
	bd.in(mask)
	bd.outBuf()
	prefix := fmt.Sprintf("const DH = %d;\nconst BKV = %d;\n", dh, bkv)
	if !bd.dispatch("attention.wgsl", prefix, g, params(nq, nk, c, mask != nil, scale)) {
		fallback("pipeline failed")
	}
}

// PatchEmbed implements kernels.Backend (wgsl/patch_embed.wgsl). A patch whose
// 3·patch² pixels do not fit the workgroup storage runs on the CPU.
func (b *Backend) PatchEmbed(dst, img, w, bias, cls, pos kernels.Tensor, patch int) {
	c, gh, gw, off := kernels.CheckPatchEmbed(dst, img, w, bias, cls, pos, patch)
	rows := off + gh*gw
	if rows*c == 0 {
		return
	}
	fallback := func(why string) {
		b.onCPU("PatchEmbed", why, []kernels.Tensor{dst, img, w, bias, cls, pos}, []int{0}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.PatchEmbed(t[0], t[1], t[2], t[3], t[4], t[5], patch)
		})
	}
	g := [3]int{ceilDiv(c, 64), rows, 1}
	if why := b.fits(64, 1, 4*3*patch*patch, g, true, dst, img, w, bias, cls, pos); why != "" {
		fallback(why)
		return
	}
	bd := b.bind("PatchEmbed", dst)
	bd.in(img)
	bd.in(w)
	bd.in(bias)
	bd.in(cls)
	bd.in(pos)
	bd.outBuf()
	prefix := fmt.Sprintf("const P = %du;\n", patch)
	if !bd.dispatch("patch_embed.wgsl", prefix, g, params(c, gw, gh*patch, gw*patch, off, rows, pos != nil)) {
		fallback("pipeline failed")
	}
}

// Bicubic implements kernels.Backend (wgsl/bicubic.wgsl). The taps come from
// kernels.BicubicTaps (float64) and are uploaded per call: the op runs once per
// image size (position-embedding interpolation).
func (b *Backend) Bicubic(dst, src kernels.Tensor, hi, wi, ho, wo int, scaleH, scaleW float64) {
	c := kernels.CheckBicubic(dst, src, hi, wi, ho, wo)
	n := ho * wo * c
	if n == 0 {
		return
	}
	fallback := func(why string) {
		b.onCPU("Bicubic", why, []kernels.Tensor{dst, src}, []int{0}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.Bicubic(t[0], t[1], hi, wi, ho, wo, scaleH, scaleW)
		})
	}
	g, ok := b.grid(ceilDiv(n, 256))
	if why := b.fits(256, 1, 0, g, ok, dst, src); why != "" || hi*wi == 0 {
		if why == "" {
			why = "empty source grid"
		}
		fallback(why)
		return
	}
	bd := b.bind("Bicubic", dst)
	bd.in(src)
	bd.host(taps(hi, ho, scaleH))
	bd.host(taps(wi, wo, scaleW))
	bd.outBuf()
	if !bd.dispatch("bicubic.wgsl", "", g, params(hi, wi, ho, wo, c)) {
		fallback("pipeline failed")
	}
}

// taps packs kernels.BicubicTaps as 5 floats per output index (floor index, four
// weights).
func taps(in, out int, scale float64) []float32 {
	idx, w := kernels.BicubicTaps(in, out, scale)
	t := make([]float32, 5*out)
	for o := range idx {
		t[5*o] = float32(idx[o])
		for j := range 4 {
			t[5*o+1+j] = float32(w[o][j])
		}
	}
	return t
}

// maxTopK bounds k in CosineTopK's kernel: each invocation keeps a k-long list in
// private memory. A larger k runs on the CPU.
const maxTopK = 256

// CosineTopK implements kernels.Backend (wgsl/cosine_norms.wgsl, matmul.wgsl,
// cosine_topk.wgsl): the row norms of a and b, then per chunk of rows of a the dot
// products with every row of b by the tiled matmul kernel into a scratch buffer
// within the storage binding size, then a per-row top-k over dot/(‖a‖‖b‖).
func (b *Backend) CosineTopK(vals, idx, a, bt kernels.Tensor, k int) {
	na, nb, c := kernels.CheckCosineTopK(vals, idx, a, bt, k)
	if na == 0 {
		return
	}
	fallback := func(why string) {
		b.onCPU("CosineTopK", why, []kernels.Tensor{vals, idx, a, bt}, []int{0, 1}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.CosineTopK(t[0], t[1], t[2], t[3], k)
		})
	}
	budget := b.limits.MaxStorageBindingSize / 4
	chunk := max(1, min(na, budget/nb))
	mk := b.matmulKernel(true, c)
	gn, okN := b.grid(max(na, nb))
	gt, okT := b.grid(chunk)
	why := ""
	switch {
	case k > maxTopK:
		why = fmt.Sprintf("k = %d > %d", k, maxTopK)
	case nb > budget:
		why = fmt.Sprintf("%d rows of b exceed one scratch row", nb)
	default:
		why = b.fits(128, 1, 4*128, gn, okN, vals, idx, a, bt)
		if why == "" {
			why = b.fits(128, 1, 8*128, gt, okT)
		}
		if why == "" {
			why = b.fits(mk.x, mk.y, mk.storage, mk.grid(chunk, nb), true)
		}
	}
	if why != "" {
		fallback(why)
		return
	}
	an, bn := b.newBuffer(bufferSize(na), tensorUsage), b.newBuffer(bufferSize(nb), tensorUsage)
	dots := b.newBuffer(bufferSize(chunk*nb), tensorUsage)
	defer func() {
		b.doom(an)
		b.doom(bn)
		b.doom(dots)
	}()
	ok := true
	for _, x := range []struct {
		t    kernels.Tensor
		rows int
		nrm  js.Value
	}{{a, na, an}, {bt, nb, bn}} {
		bd := b.bind("CosineTopK", nil)
		bd.in(x.t)
		bd.raw(x.nrm)
		g, _ := b.grid(x.rows)
		ok = ok && bd.dispatch("cosine_norms.wgsl", "", g, params(x.rows, c))
	}
	prefix := fmt.Sprintf("const K = %d;\n", k)
	for r0 := 0; r0 < na && ok; r0 += chunk {
		rows := min(chunk, na-r0)
		bd := b.bind("CosineTopK", nil)
		bd.in(a)
		bd.in(bt)
		bd.raw(dots)
		bd.in(nil)
		bd.in(nil)
		bd.in(nil)
		ok = bd.dispatch(mk.file, mk.prefix, mk.grid(rows, nb),
			params(rows, nb, c, false, false, false, false, r0*c))
		if !ok {
			break
		}
		bd = b.bind("CosineTopK", nil)
		bd.raw(dots)
		bd.raw(an)
		bd.raw(bn)
		bd.outTensor(vals)
		bd.outTensor(idx)
		g, _ := b.grid(rows)
		ok = bd.dispatch("cosine_topk.wgsl", prefix, g, params(r0, rows, nb))
	}
	if !ok {
		fallback("pipeline failed")
	}
}

// Limits of NVE's kernel: K neighbours and R directions (private arrays, and one
// invocation's Jacobi sweeps over K×K). Beyond them, or when μ, G, V, the
// coefficients and the reduction do not fit the workgroup storage, NVE runs on the CPU.
const (
	maxNVEK = 32
	maxNVER = 8
)

// nveStorage is the workgroup memory of nve.wgsl in bytes: μ[C], √w and the row
// offsets (K each), G and V (K×K each), the coefficients (max(R,1)×K) and
// reduce.wgsl's 128 floats.
func nveStorage(c, k, r int) int { return 4 * (c + 2*k + 2*k*k + max(r, 1)*k + 128) }

// NVE implements kernels.Backend (wgsl/nve.wgsl). The GLSL's float64 Gram matrix and
// Jacobi sweeps are float32 here (WGSL has no f64): Gram dots of the centred X, and
// sweeps with Rutishauser's update that stop relative to ‖G‖_F (see the kernel).
func (b *Backend) NVE(dst, f, normals, vals, idx kernels.Tensor, r int, alpha float32) {
	na, _, c, k := kernels.CheckNVE(dst, f, normals, vals, idx, r)
	if na*c == 0 {
		return
	}
	fallback := func(why string) {
		b.onCPU("NVE", why, []kernels.Tensor{dst, f, normals, vals, idx}, []int{0}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.NVE(t[0], t[1], t[2], t[3], t[4], r, alpha)
		})
	}
	g, ok := b.grid(na)
	why := b.fits(128, 1, nveStorage(c, k, r), g, ok, dst, f, normals, vals, idx)
	switch {
	case k == 0:
		why = "k = 0" // the kernel's arrays cannot be empty
	case k > maxNVEK:
		why = fmt.Sprintf("k = %d > %d", k, maxNVEK)
	case r > maxNVER:
		why = fmt.Sprintf("r = %d > %d", r, maxNVER)
	}
	if why != "" {
		fallback(why)
		return
	}
	bd := b.bind("NVE", dst)
	bd.in(f)
	bd.in(normals)
	bd.in(vals)
	bd.in(idx)
	bd.outBuf()
	prefix := fmt.Sprintf("const K = %du;\nconst R = %du;\nconst C = %du;\n", k, r, c)
	if !bd.dispatch("nve.wgsl", prefix, g, params(na, alpha)) {
		fallback("pipeline failed")
	}
}

// Projection implements kernels.Backend (wgsl/projection.wgsl). The row, its
// projection, the M coefficients and the reduction (2C + M + 128 floats) must fit the
// workgroup storage; beyond it (or for an empty C or M, which the kernel's arrays
// cannot have) Projection runs on the CPU.
func (b *Backend) Projection(dst, d, tstar kernels.Tensor) {
	n, c, m := kernels.CheckProjection(dst, d, tstar)
	if n == 0 {
		return
	}
	fallback := func(why string) {
		b.onCPU("Projection", why, []kernels.Tensor{dst, d, tstar}, []int{0}, func(cb kernels.Backend, t []kernels.Tensor) {
			cb.Projection(t[0], t[1], t[2])
		})
	}
	if c == 0 || m == 0 {
		fallback("empty C or M")
		return
	}
	g, ok := b.grid(n)
	if why := b.fits(128, 1, 4*(2*c+m+128), g, ok, dst, d, tstar); why != "" {
		fallback(why)
		return
	}
	bd := b.bind("Projection", dst)
	bd.in(d)
	bd.in(tstar)
	bd.outBuf()
	prefix := fmt.Sprintf("const C = %du;\nconst M = %du;\n", c, m)
	if !bd.dispatch("projection.wgsl", prefix, g, params(n)) {
		fallback("pipeline failed")
	}
}

var _ kernels.Backend = (*Backend)(nil)
