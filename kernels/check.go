package kernels

import "fmt"

// The shape rules of every op, in one place: each backend calls the op's Check
// function once, first, so that every backend accepts the same operands and reports a
// mismatch with the same message. A violated rule is a programming error and panics
// (see the package comment); a check returns the sizes the op works with.

// Check panics with a message naming op when cond is false. Backends use it for
// the rules of their own that go beyond the shapes (e.g. an output that must not
// alias an input where their implementation needs that).
func Check(cond bool, op string, format string, args ...any) {
	if !cond {
		panic(fmt.Sprintf("kernels: %s: %s", op, fmt.Sprintf(format, args...)))
	}
}

// CheckMatMul validates the operands of MatMul and returns M, N, K.
func CheckMatMul(dst, a, b Tensor, transB bool, ep Epilogue) (m, n, k int) {
	m, k = Rows(a), Cols(a)
	if transB {
		n = Rows(b)
		Check(Cols(b) == k, "MatMul", "a %v and transposed b %v disagree on K", a.Shape(), b.Shape())
	} else {
		n = Cols(b)
		Check(Rows(b) == k, "MatMul", "a %v and b %v disagree on K", a.Shape(), b.Shape())
	}
	Check(Rows(dst) == m && Cols(dst) == n, "MatMul", "dst %v, want [%d %d]", dst.Shape(), m, n)
	if ep.Bias != nil {
		Check(Numel(ep.Bias) == n, "MatMul", "bias %v, want %d values", ep.Bias.Shape(), n)
	}
	if ep.Gamma != nil {
		Check(Numel(ep.Gamma) == n, "MatMul", "gamma %v, want %d values", ep.Gamma.Shape(), n)
	}
	if ep.Residual != nil {
		Check(Rows(ep.Residual) == m && Cols(ep.Residual) == n, "MatMul", "residual %v, want [%d %d]", ep.Residual.Shape(), m, n)
	}
	return m, n, k
}

// CheckLayerNorm validates the operands of LayerNorm and returns M, C.
func CheckLayerNorm(dst, x, gamma, beta Tensor) (m, c int) {
	m, c = Rows(x), Cols(x)
	Check(Numel(dst) == m*c && Numel(gamma) == c && Numel(beta) == c, "LayerNorm",
		"dst %v x %v gamma %v beta %v", dst.Shape(), x.Shape(), gamma.Shape(), beta.Shape())
	return m, c
}

// CheckAddScaled validates the operands of AddScaled and returns the element count.
func CheckAddScaled(dst, a, b Tensor) int {
	n := Numel(dst)
	Check(n == Numel(a) && n == Numel(b), "AddScaled", "dst %v a %v b %v", dst.Shape(), a.Shape(), b.Shape())
	return n
}

// CheckCopyRows validates the operands of CopyRows and returns the row width.
func CheckCopyRows(dst Tensor, dstStart int, src Tensor, srcStart, n int) int {
	c := Cols(dst)
	Check(Cols(src) == c && n >= 0 && dstStart >= 0 && srcStart >= 0 && dstStart+n <= Rows(dst) && srcStart+n <= Rows(src),
		"CopyRows", "%d rows from %v at %d into %v at %d", n, src.Shape(), srcStart, dst.Shape(), dstStart)
	return c
}

// CheckAttention validates the operands of Attention and returns Nq, Nk, C.
func CheckAttention(dst, q, k, v, mask Tensor, heads int) (nq, nk, c int) {
	nq, nk, c = Rows(q), Rows(k), Cols(q)
	Check(heads > 0 && c%heads == 0, "Attention", "%d columns do not split into %d heads", c, heads)
	Check(Cols(k) == c && Cols(v) == c && Rows(v) == nk, "Attention", "q %v k %v v %v", q.Shape(), k.Shape(), v.Shape())
	Check(Rows(dst) == nq && Cols(dst) == c, "Attention", "dst %v, want [%d %d]", dst.Shape(), nq, c)
	if mask != nil {
		Check(Numel(mask) == nk, "Attention", "mask %v, want %d values", mask.Shape(), nk)
	}
	return nq, nk, c
}

// CheckPatchEmbed validates the operands of PatchEmbed and returns the channel count
// C, the token grid gh×gw and the row offset of the first patch token (0 or 1).
func CheckPatchEmbed(dst, img, w, bias, cls, pos Tensor, patch int) (c, gh, gw, off int) {
	is := img.Shape()
	Check(len(is) == 3 && is[0] == 3, "PatchEmbed", "img %v, want [3 H W]", is)
	Check(patch > 0 && is[1]%patch == 0 && is[2]%patch == 0, "PatchEmbed", "img %v is not a multiple of patch %d", is, patch)
	c = Rows(w)
	Check(Cols(w) == 3*patch*patch && Numel(bias) == c, "PatchEmbed", "w %v bias %v, want [C 3 %d %d], [C]", w.Shape(), bias.Shape(), patch, patch)
	gh, gw = is[1]/patch, is[2]/patch
	if cls != nil {
		Check(Numel(cls) == c, "PatchEmbed", "cls %v, want %d values", cls.Shape(), c)
		off = 1
	}
	Check(Rows(dst) == off+gh*gw && Cols(dst) == c, "PatchEmbed", "dst %v, want [%d %d]", dst.Shape(), off+gh*gw, c)
	if pos != nil {
		Check(Numel(pos) == Numel(dst), "PatchEmbed", "pos %v, dst %v", pos.Shape(), dst.Shape())
	}
	return c, gh, gw, off
}

// CheckBicubic validates the operands of Bicubic and returns the channel count C.
func CheckBicubic(dst, src Tensor, hi, wi, ho, wo int) int {
	c := Cols(src)
	Check(hi >= 0 && wi >= 0 && ho >= 0 && wo >= 0 && Rows(src) == hi*wi && Rows(dst) == ho*wo && Cols(dst) == c, "Bicubic",
		"src %v (%dx%d) dst %v (%dx%d)", src.Shape(), hi, wi, dst.Shape(), ho, wo)
	return c
}

// CheckCosineTopK validates the operands of CosineTopK and returns Na, Nb, C.
func CheckCosineTopK(vals, idx, a, b Tensor, k int) (na, nb, c int) {
	na, nb, c = Rows(a), Rows(b), Cols(a)
	Check(Cols(b) == c && k >= 1 && k <= nb, "CosineTopK", "a %v b %v k %d", a.Shape(), b.Shape(), k)
	Check(Numel(vals) == na*k && Numel(idx) == na*k, "CosineTopK", "vals %v idx %v, want [%d %d]", vals.Shape(), idx.Shape(), na, k)
	return na, nb, c
}

// CheckNVE validates the operands of NVE and returns Na, Nb, C, k.
func CheckNVE(dst, f, normals, vals, idx Tensor, r int) (na, nb, c, k int) {
	na, nb, c, k = Rows(f), Rows(normals), Cols(f), Cols(vals)
	Check(Cols(normals) == c && Rows(dst) == na && Cols(dst) == c, "NVE", "dst %v f %v normals %v", dst.Shape(), f.Shape(), normals.Shape())
	Check(Rows(vals) == na && Rows(idx) == na && Cols(idx) == k && k <= nb, "NVE", "vals %v idx %v for %d rows of %d normals", vals.Shape(), idx.Shape(), na, nb)
	Check(r >= 0 && r <= k, "NVE", "r = %d outside [0, k = %d]", r, k)
	return na, nb, c, k
}

// CheckProjection validates the operands of Projection and returns N, C, M.
func CheckProjection(dst, d, tstar Tensor) (n, c, m int) {
	n, c, m = Rows(d), Cols(d), Rows(tstar)
	Check(Cols(tstar) == c && Numel(dst) == n, "Projection", "dst %v d %v tstar %v", dst.Shape(), d.Shape(), tstar.Shape())
	return n, c, m
}
