//go:build wasm && goexperiment.simd && !noasm

package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
)

var wsLengths = []int{0, 1, 3, 4, 5, 7, 8, 63, 64, 65, 257, 1025}

// wsSpecials are the values every vector helper must get right, in vector lanes
// and in the scalar tails alike.
var wsSpecials = []float32{
	float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -100, 100, 0,
	float32(math.Copysign(0, -1)), 1e-40, -1e-40, math.SmallestNonzeroFloat32, 1e-30, -1e-30,
	-87.3, -87.29, -87.31, 88.7, 88.69, 88.71, 87, -87, 0.5, -0.5, 1, -1, 3, -3, 10, -10, 14, -14,
}

// wsInput is n values: the specials, shifted by off so each lands in every lane and
// in the tails, interleaved with random values in [-lim, lim].
func wsInput(rng *rand.Rand, n, off int, lim float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		if i%3 == 0 {
			x[i] = wsSpecials[(i/3+off)%len(wsSpecials)]
		} else {
			x[i] = float32((2*rng.Float64() - 1) * lim)
		}
	}
	return x
}

// wsULP is the distance in units in the last place between a and b (0 for two
// NaNs, a huge number when only one is NaN).
func wsULP(a, b float32) int64 {
	if a != a || b != b {
		if a != a && b != b {
			return 0
		}
		return math.MaxInt64
	}
	key := func(f float32) int64 {
		u := int64(math.Float32bits(f))
		if u&(1<<31) != 0 {
			return -(u &^ (1 << 31))
		}
		return u
	}
	d := key(a) - key(b)
	if d < 0 {
		d = -d
	}
	return d
}

func wsSame(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

func TestVecGELUSIMD(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var worst int64
	for _, n := range wsLengths {
		for off := range 8 {
			x := wsInput(rng, n, off, 20)
			got, want := make([]float32, n), make([]float32, n)
			geluSIMD(got, x)
			geluSlice(want, x)
			for i := range x {
				d := wsULP(got[i], want[i])
				// A few ulp, plus the conditioning of exp(−x²/2) in the tails (see
				// geluSIMD); denormal or tiny results carry no relative accuracy.
				xx := float64(x[i]) * float64(x[i])
				if d > 4+int64(min(xx, 1e6)) && math.Abs(float64(got[i])-float64(want[i])) > 1e-37 {
					t.Fatalf("n=%d: geluSIMD(%g) = %g, geluSlice gives %g (%d ulp)", n, x[i], got[i], want[i], d)
				}
				if d != math.MaxInt64 && math.Abs(float64(want[i])) > 1e-30 && math.Abs(float64(x[i])) <= 3 {
					worst = max(worst, d)
				}
			}
		}
	}
	// A dense sweep against the float64 GELU too.
	var rel float64
	for x := -12.0; x < 12; x += 0.0007 {
		xs := []float32{float32(x), float32(x), float32(x), float32(x), float32(x), float32(x), float32(x), float32(x)}
		geluSIMD(xs, xs)
		want := kernels.GELUExact(float64(float32(x)))
		if want == 0 {
			continue
		}
		e := math.Abs(float64(xs[0])-want) / math.Abs(want)
		if e > 1e-6+2.5e-7*x*x {
			t.Fatalf("geluSIMD(%g) = %g, want %g: relative error %.3g", x, xs[0], want, e)
		}
		rel = max(rel, e/(1+0.25*x*x))
	}
	t.Logf("geluSIMD: max %d ulp from geluSlice for |x| ≤ 3; max relative error vs float64 GELU %.3g (scaled by 1+x²/4)", worst, rel)
}

func TestVecExpShiftSumSIMD(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var worst int64
	var worstSum float64
	for _, shift := range []float32{0, 3, -5, 100} {
		for _, n := range wsLengths {
			for off := range 8 {
				x := wsInput(rng, n, off, 90)
				got, want := make([]float32, n), make([]float32, n)
				sg := expShiftSumSIMD(got, x, shift)
				sw := expShiftSum(want, x, shift)
				for i := range x {
					d := wsULP(got[i], want[i])
					if d > 3 {
						t.Fatalf("shift %g n=%d: exp(%g) = %g, exp32 gives %g (%d ulp)", shift, n, x[i]-shift, got[i], want[i], d)
					}
					if d != math.MaxInt64 {
						worst = max(worst, d)
					}
				}
				var ref float64
				for _, v := range want {
					ref += float64(v)
				}
				switch {
				case math.IsNaN(ref) || math.IsInf(ref, 0) || float32(ref) > math.MaxFloat32:
					if !wsSame(sg, sw) {
						t.Fatalf("shift %g n=%d: sum %g, expShiftSum gives %g", shift, n, sg, sw)
					}
				case ref == 0:
					if sg != 0 {
						t.Fatalf("shift %g n=%d: sum %g, want 0", shift, n, sg)
					}
				default:
					e := math.Abs(float64(sg)-ref) / ref
					if e > 1e-6 {
						t.Fatalf("shift %g n=%d: sum %g, want %g (relative error %.3g)", shift, n, sg, ref, e)
					}
					worstSum = max(worstSum, e)
				}
			}
		}
	}
	// Against float64 exp over the whole range.
	var rel float64
	for x := -87.0; x < 88.5; x += 0.001 {
		xs := make([]float32, 8)
		for i := range xs {
			xs[i] = float32(x)
		}
		expShiftSumSIMD(xs, xs, 0)
		want := math.Exp(float64(float32(x)))
		rel = max(rel, math.Abs(float64(xs[0])-want)/want)
	}
	if rel > 3e-7 {
		t.Errorf("expShiftSumSIMD: max relative error %.3g > 3e-7 vs math.Exp", rel)
	}
	t.Logf("expShiftSumSIMD: max %d ulp from exp32, sum relative error %.3g; max relative error vs math.Exp %.3g", worst, worstSum, rel)
}

func TestVecMaxAddMulSIMD(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range wsLengths {
		for off := range 8 {
			x := wsInput(rng, n, off, 1e3)
			y := wsInput(rng, n, off+3, 1e3)
			if g, w := maxSIMD(x), maxSlice(x); !wsSame(g, w) {
				t.Fatalf("n=%d off=%d: maxSIMD = %g, maxSlice gives %g", n, off, g, w)
			}
			// And without NaNs (the specials put one in most inputs).
			c := append([]float32(nil), x...)
			for i, v := range c {
				if v != v {
					c[i] = -3
				}
			}
			if g, w := maxSIMD(c), maxSlice(c); !wsSame(g, w) {
				t.Fatalf("n=%d off=%d: maxSIMD = %g, maxSlice gives %g (no NaN)", n, off, g, w)
			}
			for _, f := range []struct {
				name      string
				simd, ref func(dst, x []float32)
			}{{"add", addSIMD, addSlice}, {"mul", mulSIMD, mulSlice}} {
				got, want := append([]float32(nil), y...), append([]float32(nil), y...)
				f.simd(got, x)
				f.ref(want, x)
				for i := range got {
					if !wsSame(got[i], want[i]) {
						t.Fatalf("n=%d: %sSIMD(%g, %g) = %g, want %g", n, f.name, y[i], x[i], got[i], want[i])
					}
				}
			}
		}
	}
	if m := maxSIMD(nil); !math.IsInf(float64(m), -1) {
		t.Errorf("maxSIMD(nil) = %g, want -Inf", m)
	}
	z := make([]float32, 16)
	z[5] = float32(math.Copysign(0, -1))
	for i := range z {
		z[i] = float32(math.Copysign(0, -1))
	}
	if m := maxSIMD(z); !wsSame(m, z[0]) {
		t.Errorf("maxSIMD(all -0) = %g", m)
	}
}

// wsLNRow is a LayerNorm row of n values offset+scale·N(0,1).
func wsLNRow(rng *rand.Rand, n int, offset, scale float64) (x, g, b []float32) {
	x, g, b = make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range x {
		x[i] = float32(offset + scale*rng.NormFloat64())
		g[i] = float32(1 + 0.5*rng.NormFloat64())
		b[i] = float32(0.1 * rng.NormFloat64())
	}
	return
}

// wsLNExact is the float64 LayerNorm of a row.
func wsLNExact(x, g, b []float32, eps float32) []float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	m := s / float64(len(x))
	var v2 float64
	for _, v := range x {
		v2 += (float64(v) - m) * (float64(v) - m)
	}
	inv := 1 / math.Sqrt(v2/float64(len(x))+float64(eps))
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = (float64(v)-m)*inv*float64(g[i]) + float64(b[i])
	}
	return out
}

func TestVecLayerNormSIMD(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	type cs struct {
		n             int
		offset, scale float64
	}
	cases := []cs{{384, 100, 1e-3}, {1536, 100, 1e-3}, {384, 0, 1}, {1536, 0, 1}, {384, -5, 0.01}, {384, 1e4, 1}}
	for _, n := range wsLengths {
		cases = append(cases, cs{n, 3, 2})
	}
	for _, c := range cases {
		var maxRef, maxExact, maxExactGo float64
		for range 20 {
			x, g, b := wsLNRow(rng, c.n, c.offset, c.scale)
			got, want := make([]float32, c.n), make([]float32, c.n)
			layerNormRowSIMD(got, x, g, b, 1e-6)
			layerNormRow(want, x, g, b, 1e-6)
			exact := wsLNExact(x, g, b, 1e-6)
			for i := range got {
				maxRef = max(maxRef, math.Abs(float64(got[i])-float64(want[i])))
				maxExact = max(maxExact, math.Abs(float64(got[i])-exact[i]))
				maxExactGo = max(maxExactGo, math.Abs(float64(want[i])-exact[i]))
			}
			in := append([]float32(nil), x...)
			layerNormRowSIMD(in, in, g, b, 1e-6)
			for i := range in {
				if !wsSame(in[i], got[i]) {
					t.Fatalf("n=%d: in place %g, out of place %g", c.n, in[i], got[i])
				}
			}
		}
		// Outputs are O(1): the bound is absolute, within a few times what the
		// float32 mean of layerNormRow itself costs against the exact result.
		if maxRef > 1e-5+2*maxExactGo || maxExact > 1e-5+2*maxExactGo {
			t.Errorf("n=%d offset %g scale %g: max |simd−go| %.3g, |simd−exact| %.3g, |go−exact| %.3g", c.n, c.offset, c.scale, maxRef, maxExact, maxExactGo)
		}
		if c.n >= 384 {
			t.Logf("LayerNorm n=%d offset %g scale %g: max |simd−go| %.3g, |simd−exact| %.3g, |go−exact| %.3g", c.n, c.offset, c.scale, maxRef, maxExact, maxExactGo)
		}
	}
}

func TestVecDotAxpy64SIMD(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range wsLengths {
		a, b := make([]float64, n), make([]float64, n)
		var abs float64
		for i := range a {
			a[i], b[i] = rng.NormFloat64(), rng.NormFloat64()
			abs += math.Abs(a[i] * b[i])
		}
		if g, w := dot64SIMD(a, b), dot64(a, b); math.Abs(g-w) > 1e-14*abs {
			t.Fatalf("n=%d: dot64SIMD %g, dot64 %g", n, g, w)
		}
		got, want := append([]float64(nil), b...), append([]float64(nil), b...)
		axpy64SIMD(got, a, 0.37)
		axpy64(want, a, 0.37)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("n=%d: axpy64SIMD[%d] = %g, want %g", n, i, got[i], want[i])
			}
		}
	}
	nan := []float64{1, 2, math.NaN(), 4, 5}
	if v := dot64SIMD(nan, nan); v == v {
		t.Error("dot64SIMD with a NaN is not NaN")
	}
}

// TestVecSIMDGuards checks that no helper writes past len(dst) (the backing array
// goes on with sentinels) or reads past len(x) (x's spare capacity holds NaNs,
// which would leak into the results).
func TestVecSIMDGuards(t *testing.T) {
	const pad = 16
	sentinel := float32(-12345.5)
	for _, n := range wsLengths {
		mk := func(fill float32) []float32 {
			s := make([]float32, n+pad)
			for i := range s {
				s[i] = fill
			}
			return s
		}
		x := mk(float32(math.NaN()))
		for i := range n {
			x[i] = float32(i%7) - 3
		}
		xs := x[:n]
		check := func(name string, buf []float32) {
			t.Helper()
			for i := n; i < len(buf); i++ {
				if buf[i] != sentinel {
					t.Fatalf("%s n=%d: wrote %g at %d, past len %d", name, n, buf[i], i, n)
				}
			}
			for i := range n {
				if buf[i] != buf[i] {
					t.Fatalf("%s n=%d: NaN at %d: read past len(x)", name, n, i)
				}
			}
		}
		d := mk(sentinel)
		geluSIMD(d[:n], xs)
		check("gelu", d)
		d = mk(sentinel)
		if s := expShiftSumSIMD(d[:n], xs, 1); s != s {
			t.Fatalf("expShiftSum n=%d: NaN sum: read past len(x)", n)
		}
		check("expShiftSum", d)
		d = mk(sentinel)
		for i := range n {
			d[i] = 1
		}
		addSIMD(d[:n], xs)
		check("add", d)
		mulSIMD(d[:n], xs)
		check("mul", d)
		if m := maxSIMD(xs); m != m {
			t.Fatalf("max n=%d: NaN: read past len(x)", n)
		}
		d = mk(sentinel)
		g, b := mk(float32(math.NaN())), mk(float32(math.NaN()))
		for i := range n {
			g[i], b[i] = 1, 0
		}
		layerNormRowSIMD(d[:n], xs, g[:n], b[:n], 1e-6)
		check("layerNorm", d)

		a64, d64 := make([]float64, n+pad), make([]float64, n+pad)
		for i := range a64 {
			a64[i], d64[i] = math.NaN(), -7
			if i < n {
				a64[i], d64[i] = 1, 1
			}
		}
		if v := dot64SIMD(a64[:n], a64[:n]); v != float64(n) {
			t.Fatalf("dot64 n=%d: %g, want %d", n, v, n)
		}
		axpy64SIMD(d64[:n], a64[:n], 2)
		for i, v := range d64 {
			if (i < n && v != 3) || (i >= n && v != -7) {
				t.Fatalf("axpy64 n=%d: [%d] = %g", n, i, v)
			}
		}
	}
}

func wsBench(b *testing.B, name string, f func()) {
	b.Run(name, func(b *testing.B) {
		for b.Loop() {
			f()
		}
	})
}

func BenchmarkGELU(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, dst := make([]float32, 1536), make([]float32, 1536)
	for i := range x {
		x[i] = float32(3 * rng.NormFloat64())
	}
	wsBench(b, "go", func() { geluSlice(dst, x) })
	wsBench(b, "simd", func() { geluSIMD(dst, x) })
}

func BenchmarkExpShiftSum(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, dst := make([]float32, 1025), make([]float32, 1025)
	for i := range x {
		x[i] = float32(4 * rng.NormFloat64())
	}
	m := maxSlice(x)
	var sink float32
	wsBench(b, "go", func() { sink += expShiftSum(dst, x, m) })
	wsBench(b, "simd", func() { sink += expShiftSumSIMD(dst, x, m) })
	_ = fmt.Sprint(sink)
}

func BenchmarkLayerNorm(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 3))
	x, g, bt := wsLNRow(rng, 384, 0, 1)
	dst := make([]float32, 384)
	wsBench(b, "go", func() { layerNormRow(dst, x, g, bt, 1e-6) })
	wsBench(b, "simd", func() { layerNormRowSIMD(dst, x, g, bt, 1e-6) })
}

func BenchmarkVecHelpers(b *testing.B) {
	x, y := make([]float32, 1536), make([]float32, 1536)
	for i := range x {
		x[i], y[i] = float32(i%13)-6, 1
	}
	var sink float32
	wsBench(b, "max/go", func() { sink += maxSlice(x) })
	wsBench(b, "max/simd", func() { sink += maxSIMD(x) })
	wsBench(b, "add/go", func() { addSlice(y, x) })
	wsBench(b, "add/simd", func() { addSIMD(y, x) })
	a64, d64 := make([]float64, 1536), make([]float64, 1536)
	var s64 float64
	wsBench(b, "dot64/go", func() { s64 += dot64(a64, d64) })
	wsBench(b, "dot64/simd", func() { s64 += dot64SIMD(a64, d64) })
	wsBench(b, "axpy64/go", func() { axpy64(d64, a64, 0.5) })
	wsBench(b, "axpy64/simd", func() { axpy64SIMD(d64, a64, 0.5) })
	_ = fmt.Sprint(sink, s64)
}

// An element's GELU and exp do not depend on where its slice starts (vector lane or
// tail): MatMul's column blocks and a pass split over workers cut rows differently.
func TestSIMDPositionIndependent(t *testing.T) {
	x := make([]float32, 37)
	for i := range x {
		x[i] = float32(i%11)*0.7 - 3.1
	}
	full, full2 := make([]float32, len(x)), make([]float32, len(x))
	geluSIMD(full, x)
	expShiftSumSIMD(full2, x, 0.25)
	for off := 1; off < 9; off++ {
		for _, n := range []int{1, 3, 7, 8, 13, len(x) - off} {
			got, got2 := make([]float32, n), make([]float32, n)
			geluSIMD(got, x[off:off+n])
			expShiftSumSIMD(got2, x[off:off+n], 0.25)
			for i := range got {
				if got[i] != full[off+i] || got2[i] != full2[off+i] {
					t.Fatalf("offset %d length %d element %d: GELU %v vs %v, exp %v vs %v", off, n, i, got[i], full[off+i], got2[i], full2[off+i])
				}
			}
		}
	}
}
