//go:build wasm && goexperiment.simd && !noasm

package cpu

import (
	"math"
	"simd/archsimd"
)

// Vector helpers of the WebAssembly SIMD128 path: the bodies run on Float32x4
// (Float64x2 for dot64SIMD and axpy64SIMD), two vectors per step where that helps,
// and the tails fall back to the scalar twins, except for exp and GELU, whose tails
// run the vector code on a padded copy (their vector results differ from the scalar
// ones by a few ulp, and an element must not get another value because of where its
// slice starts: a pass split over workers stays bit-identical). The loops re-slice instead of
// indexing so that no bounds check is left inside them, and everything inside a
// loop is inlined: a call per vector would cost more than the arithmetic under
// Go's wasm back end.

// vld loads s[0:4]; callers pass slices the compiler knows hold four elements.
func vld(s []float32) archsimd.Float32x4 {
	return archsimd.LoadFloat32x4Array((*[4]float32)(s))
}

// vst stores v to s[0:4].
func vst(v archsimd.Float32x4, s []float32) {
	v.StoreArray((*[4]float32)(s))
}

func vbc(x float32) archsimd.Float32x4 { return archsimd.BroadcastFloat32x4(x) }

// hsum is the sum of the four lanes.
func hsum(v archsimd.Float32x4) float32 {
	return (v.GetElem(0) + v.GetElem(1)) + (v.GetElem(2) + v.GetElem(3))
}

// hsum64 is the sum of the four lanes in float64.
func hsum64(v archsimd.Float32x4) float64 {
	return (float64(v.GetElem(0)) + float64(v.GetElem(1))) + (float64(v.GetElem(2)) + float64(v.GetElem(3)))
}

// The exp kernel (exp32's algorithm, vectorised): n = round(x·log2e) by adding and
// subtracting 1.5·2^23, r = x − n·ln2 (two-part ln2), e^r by the same degree-7
// Taylor polynomial evaluated by Estrin's scheme (so results can differ from exp32
// by an ulp or two; the relative error stays under 2e-7), and 2^n added into the
// exponent field of e^r as an integer: the low
// bits of x·log2e + 1.5·2^23 hold n, and shifting them left by 23 drops the rest.
// For x in [−87.3, 88.7] the result is always a normal float (e^−87.3 > 2^−126,
// e^88.7 < MaxFloat32), so the integer add is exact where exp32 scales in two
// steps; outside that range lanes are forced to 0 (below) or +Inf (above), and NaN
// propagates through the arithmetic (its shifted bits are zero).
const (
	expMagic = 0x1.8p23
	expLog2e = 1.44269504088896341
	expLn2hi = 0.693359375
	expLn2lo = -2.12194440e-4
)

// expShiftSumSIMD is expShiftSum on Float32x4: dst = exp(x − shift), returning Σ dst
// (accumulated in eight float32 lanes, so the sum differs from the sequential
// scalar one by rounding).
func expShiftSumSIMD(dst, x []float32, shift float32) float32 {
	x = x[:len(dst)]
	var (
		sh     = vbc(shift)
		log2e  = vbc(expLog2e)
		magic  = vbc(expMagic)
		ln2hi  = vbc(expLn2hi)
		ln2lo  = vbc(expLn2lo)
		one    = vbc(1)
		c2     = vbc(0.5)
		c3     = vbc(1.0 / 6)
		c4     = vbc(1.0 / 24)
		c5     = vbc(1.0 / 120)
		c6     = vbc(1.0 / 720)
		c7     = vbc(1.0 / 5040)
		lo     = vbc(-87.3)
		hi     = vbc(88.7)
		infs   = archsimd.BroadcastUint32x4(0x7f800000)
		s0, s1 archsimd.Float32x4
	)
	d, v := dst, x
	for len(v) >= 8 && len(d) >= 8 {
		a, b := vld(v[0:4]).Sub(sh), vld(v[4:8]).Sub(sh)
		ka, kb := a.Mul(log2e).Add(magic), b.Mul(log2e).Add(magic)
		na, nb := ka.Sub(magic), kb.Sub(magic)
		ra, rb := a.Sub(na.Mul(ln2hi)).Sub(na.Mul(ln2lo)), b.Sub(nb.Mul(ln2hi)).Sub(nb.Mul(ln2lo))
		// e^r = Σ r^k/k!, k ≤ 7, by Estrin's scheme (half the dependency chain of
		// Horner's, which is what bounds this loop).
		r2a, r2b := ra.Mul(ra), rb.Mul(rb)
		r4a, r4b := r2a.Mul(r2a), r2b.Mul(r2b)
		a01a, a01b := ra.Add(one), rb.Add(one)
		a23a, a23b := ra.Mul(c3).Add(c2), rb.Mul(c3).Add(c2)
		a45a, a45b := ra.Mul(c5).Add(c4), rb.Mul(c5).Add(c4)
		a67a, a67b := ra.Mul(c7).Add(c6), rb.Mul(c7).Add(c6)
		a03a, a03b := a23a.Mul(r2a).Add(a01a), a23b.Mul(r2b).Add(a01b)
		a47a, a47b := a67a.Mul(r2a).Add(a45a), a67b.Mul(r2b).Add(a45b)
		pa, pb := a47a.Mul(r4a).Add(a03a), a47b.Mul(r4b).Add(a03b)
		ea := pa.ToBits().Add(ka.ToBits().ShiftAllLeft(23))
		eb := pb.ToBits().Add(kb.ToBits().ShiftAllLeft(23))
		ha, hb := a.Greater(hi).ToInt32x4().ToBits(), b.Greater(hi).ToInt32x4().ToBits()
		oa := a.Less(lo).ToInt32x4().ToBits().Or(ha)
		ob := b.Less(lo).ToInt32x4().ToBits().Or(hb)
		fa := ea.AndNot(oa).Or(ha.And(infs)).BitsToFloat32()
		fb := eb.AndNot(ob).Or(hb.And(infs)).BitsToFloat32()
		vst(fa, d[0:4])
		vst(fb, d[4:8])
		s0, s1 = s0.Add(fa), s1.Add(fb)
		d, v = d[8:], v[8:]
	}
	sum := hsum(s0.Add(s1))
	if n := len(v); n > 0 {
		// The tail goes through the same vector code (padded with −Inf, whose exp is
		// 0), so an element's result does not depend on where a slice starts.
		buf := [8]float32{}
		copy(buf[:], v)
		for i := n; i < 8; i++ {
			buf[i] = float32(math.Inf(-1))
		}
		sum += expShiftSumSIMD(buf[:], buf[:], shift)
		copy(d, buf[:n])
	}
	return sum
}

// geluSIMD is geluSlice on Float32x4: gelu32's exact-erf form with the same erfc
// fit, the exp inlined (its argument is never above 0, so only the lower cut-off
// matters; NaN and ±Inf give what gelu32 gives). Both polynomials go by Estrin's
// scheme, which makes the loop twice as fast as with Horner's (it is bound by the
// dependency chain). The error against the exact GELU is gelu32's (1e-6 + 2.5e-7·x²
// relative); against gelu32 itself results agree to within 4 + x² ulp (8 measured
// for |x| ≤ 3): the exponent argument −x²/2 − … is rounded to float32 in both, and
// a one-ulp difference in how it was reached shows up as about x²/2 ulp.
func geluSIMD(dst, x []float32) {
	x = x[:len(dst)]
	var (
		rsqrt2 = vbc(1 / math.Sqrt2)
		half   = vbc(0.5)
		one    = vbc(1)
		two    = vbc(2)
		zero   archsimd.Float32x4
		e0     = vbc(-1.26551223)
		e1     = vbc(1.00002368)
		e2     = vbc(0.37409196)
		e3     = vbc(0.09678418)
		e4     = vbc(-0.18628806)
		e5     = vbc(0.27886807)
		e6     = vbc(-1.13520398)
		e7     = vbc(1.48851587)
		e8     = vbc(-0.82215223)
		e9     = vbc(0.17087277)
		log2e  = vbc(expLog2e)
		magic  = vbc(expMagic)
		ln2hi  = vbc(expLn2hi)
		ln2lo  = vbc(expLn2lo)
		c2     = vbc(0.5)
		c3     = vbc(1.0 / 6)
		c4     = vbc(1.0 / 24)
		c5     = vbc(1.0 / 120)
		c6     = vbc(1.0 / 720)
		c7     = vbc(1.0 / 5040)
		lo     = vbc(-87.3)
	)
	d, v := dst, x
	for len(v) >= 8 && len(d) >= 8 {
		xa, xb := vld(v[0:4]), vld(v[4:8])
		za, zb := xa.Mul(rsqrt2), xb.Mul(rsqrt2)
		aa, ab := za.Abs(), zb.Abs()
		ta, tb := one.Div(one.Add(half.Mul(aa))), one.Div(one.Add(half.Mul(ab)))
		// y = −az·az − 1.26551223 + t·q(t), q = 1.00002368 + … + 0.17087277·t⁸ by
		// Estrin's scheme.
		t2a, t2b := ta.Mul(ta), tb.Mul(tb)
		t4a, t4b := t2a.Mul(t2a), t2b.Mul(t2b)
		p01a, p01b := ta.Mul(e2).Add(e1), tb.Mul(e2).Add(e1)
		p23a, p23b := ta.Mul(e4).Add(e3), tb.Mul(e4).Add(e3)
		p45a, p45b := ta.Mul(e6).Add(e5), tb.Mul(e6).Add(e5)
		p67a, p67b := ta.Mul(e8).Add(e7), tb.Mul(e8).Add(e7)
		p03a, p03b := p23a.Mul(t2a).Add(p01a), p23b.Mul(t2b).Add(p01b)
		p47a, p47b := p67a.Mul(t2a).Add(p45a), p67b.Mul(t2b).Add(p45b)
		p47a, p47b = t4a.Mul(e9).Add(p47a), t4b.Mul(e9).Add(p47b)
		qa, qb := p47a.Mul(t4a).Add(p03a), p47b.Mul(t4b).Add(p03b)
		ya := aa.Neg().Mul(aa).Add(e0).Add(ta.Mul(qa))
		yb := ab.Neg().Mul(ab).Add(e0).Add(tb.Mul(qb))
		// exp(y)
		ka, kb := ya.Mul(log2e).Add(magic), yb.Mul(log2e).Add(magic)
		na, nb := ka.Sub(magic), kb.Sub(magic)
		ra, rb := ya.Sub(na.Mul(ln2hi)).Sub(na.Mul(ln2lo)), yb.Sub(nb.Mul(ln2hi)).Sub(nb.Mul(ln2lo))
		// e^r = Σ r^k/k!, k ≤ 7, by Estrin's scheme (half the dependency chain of
		// Horner's, which is what bounds this loop).
		r2a, r2b := ra.Mul(ra), rb.Mul(rb)
		r4a, r4b := r2a.Mul(r2a), r2b.Mul(r2b)
		a01a, a01b := ra.Add(one), rb.Add(one)
		a23a, a23b := ra.Mul(c3).Add(c2), rb.Mul(c3).Add(c2)
		a45a, a45b := ra.Mul(c5).Add(c4), rb.Mul(c5).Add(c4)
		a67a, a67b := ra.Mul(c7).Add(c6), rb.Mul(c7).Add(c6)
		a03a, a03b := a23a.Mul(r2a).Add(a01a), a23b.Mul(r2b).Add(a01b)
		a47a, a47b := a67a.Mul(r2a).Add(a45a), a67b.Mul(r2b).Add(a45b)
		pa, pb := a47a.Mul(r4a).Add(a03a), a47b.Mul(r4b).Add(a03b)
		ea := pa.ToBits().Add(ka.ToBits().ShiftAllLeft(23)).AndNot(ya.Less(lo).ToInt32x4().ToBits())
		eb := pb.ToBits().Add(kb.ToBits().ShiftAllLeft(23)).AndNot(yb.Less(lo).ToInt32x4().ToBits())
		// q = erfc(|z|); GELU = x/2·q for z ≤ 0, x/2·(2 − q) above.
		qa, qb = ta.Mul(ea.BitsToFloat32()), tb.Mul(eb.BitsToFloat32())
		qa = qa.IfElse(za.LessEqual(zero), two.Sub(qa))
		qb = qb.IfElse(zb.LessEqual(zero), two.Sub(qb))
		vst(half.Mul(xa).Mul(qa), d[0:4])
		vst(half.Mul(xb).Mul(qb), d[4:8])
		d, v = d[8:], v[8:]
	}
	if n := len(v); n > 0 {
		// The tail goes through the same vector code, so an element's result does
		// not depend on where a slice starts (e.g. on MatMul's column blocks).
		buf := [8]float32{}
		copy(buf[:], v)
		geluSIMD(buf[:], buf[:])
		copy(d, buf[:n])
	}
}

// maxSIMD is maxSlice on Float32x4: −Inf for an empty x, NaN if any element is NaN
// (wasm's f32x4.max propagates NaN, as Go's max does), and +0 over −0.
func maxSIMD(x []float32) float32 {
	if len(x) < 8 {
		return maxSlice(x)
	}
	m0, m1 := vld(x[0:4]), vld(x[4:8])
	v := x[8:]
	for len(v) >= 8 {
		m0, m1 = m0.Max(vld(v[0:4])), m1.Max(vld(v[4:8]))
		v = v[8:]
	}
	m0 = m0.Max(m1)
	return max(m0.GetElem(0), m0.GetElem(1), m0.GetElem(2), m0.GetElem(3), maxSlice(v))
}

// addSIMD is addSlice on Float32x4: dst += x.
func addSIMD(dst, x []float32) {
	x = x[:len(dst)]
	d, v := dst, x
	for len(v) >= 8 && len(d) >= 8 {
		vst(vld(d[0:4]).Add(vld(v[0:4])), d[0:4])
		vst(vld(d[4:8]).Add(vld(v[4:8])), d[4:8])
		d, v = d[8:], v[8:]
	}
	addSlice(d, v)
}

// mulSIMD is mulSlice on Float32x4: dst *= x.
func mulSIMD(dst, x []float32) {
	x = x[:len(dst)]
	d, v := dst, x
	for len(v) >= 8 && len(d) >= 8 {
		vst(vld(d[0:4]).Mul(vld(v[0:4])), d[0:4])
		vst(vld(d[4:8]).Mul(vld(v[4:8])), d[4:8])
		d, v = d[8:], v[8:]
	}
	mulSlice(d, v)
}

// layerNormRowSIMD is layerNormRow on Float32x4, in three passes. The mean is
// accumulated in float32 lanes as deviations from the row's first element (exact
// by Sterbenz for rows with a large common offset, and what keeps the float32 sums
// small), then completed in float64; the squared deviations from the mean are
// accumulated in eight float32 lanes and reduced in float64.
func layerNormRowSIMD(out, row, g, bt []float32, eps float32) {
	c := len(row)
	if c < 8 {
		layerNormRow(out, row, g, bt, eps)
		return
	}
	out, g, bt = out[:c], g[:c], bt[:c]
	p := row[0]
	pv := vbc(p)
	var s0, s1 archsimd.Float32x4
	v := row
	for len(v) >= 8 {
		s0, s1 = s0.Add(vld(v[0:4]).Sub(pv)), s1.Add(vld(v[4:8]).Sub(pv))
		v = v[8:]
	}
	s := hsum64(s0.Add(s1))
	for _, x := range v {
		s += float64(x - p)
	}
	mean := float32(float64(p) + s/float64(c))
	mv := vbc(mean)
	s0, s1 = archsimd.Float32x4{}, archsimd.Float32x4{}
	v = row
	for len(v) >= 8 {
		da, db := vld(v[0:4]).Sub(mv), vld(v[4:8]).Sub(mv)
		s0, s1 = s0.Add(da.Mul(da)), s1.Add(db.Mul(db))
		v = v[8:]
	}
	v2 := hsum64(s0) + hsum64(s1)
	for _, x := range v {
		d := x - mean
		v2 += float64(d * d)
	}
	inv := float32(1 / math.Sqrt(v2/float64(c)+float64(eps)))
	iv := vbc(inv)
	o, x, gg, bb := out, row, g, bt
	for len(x) >= 8 && len(o) >= 8 && len(gg) >= 8 && len(bb) >= 8 {
		ya := vld(x[0:4]).Sub(mv).Mul(iv).Mul(vld(gg[0:4])).Add(vld(bb[0:4]))
		yb := vld(x[4:8]).Sub(mv).Mul(iv).Mul(vld(gg[4:8])).Add(vld(bb[4:8]))
		vst(ya, o[0:4])
		vst(yb, o[4:8])
		o, x, gg, bb = o[8:], x[8:], gg[8:], bb[8:]
	}
	gg, bb = gg[:len(x)], bb[:len(x)]
	o = o[:len(x)]
	for j, y := range x {
		o[j] = (y-mean)*inv*gg[j] + bb[j]
	}
}

// dot64SIMD is dot64 on Float64x2 (four lanes of partial sums).
func dot64SIMD(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1 archsimd.Float64x2
	x, y := a, b
	for len(x) >= 4 && len(y) >= 4 {
		s0 = s0.Add(archsimd.LoadFloat64x2Array((*[2]float64)(x[0:2])).Mul(archsimd.LoadFloat64x2Array((*[2]float64)(y[0:2]))))
		s1 = s1.Add(archsimd.LoadFloat64x2Array((*[2]float64)(x[2:4])).Mul(archsimd.LoadFloat64x2Array((*[2]float64)(y[2:4]))))
		x, y = x[4:], y[4:]
	}
	s0 = s0.Add(s1)
	return s0.GetElem(0) + s0.GetElem(1) + dot64(x, y)
}

// axpy64SIMD is axpy64 on Float64x2: dst += alpha·x.
func axpy64SIMD(dst, x []float64, alpha float64) {
	x = x[:len(dst)]
	al := archsimd.BroadcastFloat64x2(alpha)
	d, v := dst, x
	for len(v) >= 4 && len(d) >= 4 {
		d0, d1 := (*[2]float64)(d[0:2]), (*[2]float64)(d[2:4])
		archsimd.LoadFloat64x2Array(d0).Add(al.Mul(archsimd.LoadFloat64x2Array((*[2]float64)(v[0:2])))).StoreArray(d0)
		archsimd.LoadFloat64x2Array(d1).Add(al.Mul(archsimd.LoadFloat64x2Array((*[2]float64)(v[2:4])))).StoreArray(d1)
		d, v = d[4:], v[4:]
	}
	axpy64(d, v, alpha)
}
