// Package kerneltest is the parity suite every kernels.Backend runs: RunAll compares
// each op of a backend against kernels.Reference (the float64-accumulating oracle) on
// awkward sizes, with sentinel-filled outputs, input-immutability checks and the
// aliasing cases the interface allows. BenchAll runs the shared benchmark cases
// (package kernelbench, the set `ideal bench` times) at the DINOv2 ViT-S/14 448×448
// shapes, so every backend is measured on the same cases.
//
// A backend's test file is one line:
//
//	func TestParity(t *testing.T) { kerneltest.RunAll(t, func() kernels.Backend { return cpu.New() }) }
//
// Error metric: normalised MSE, Σ(x − ref)² / Σ ref², at most 1e-7 per output unless
// the case says why it allows more; the maximum absolute error is logged with it.
// Large cases (the full 448 shapes) run only without -short (and without SmallOnly).
package kerneltest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
)

// Tol is the default bound on the normalised MSE of an output against the reference.
const Tol = 1e-7

// Option adjusts RunAll.
type Option func(*config)

type config struct{ small bool }

// SmallOnly skips the large (full-model) cases even without -short: for a second
// code path of a backend whose default path already ran them.
func SmallOnly() Option { return func(c *config) { c.small = true } }

// RunAll runs the whole parity suite. newBackend is called once per op group (a
// subtest), and the backend is closed when the group ends.
func RunAll(t *testing.T, newBackend func() kernels.Backend, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	groups := []struct {
		name string
		run  func(h *H)
	}{
		{"MatMul", testMatMul},
		{"LayerNorm", testLayerNorm},
		{"GELU", testGELU}, // in MatMul's epilogue, the only place models use it
		{"AddScaled", testAddScaled},
		{"CopyRows", testCopyRows},
		{"Attention", testAttention},
		{"PatchEmbed", testPatchEmbed},
		{"Bicubic", testBicubic},
		{"CosineTopK", testCosineTopK},
		{"CosineTopKTie", testCosineTopKTie},
		{"NVE", testNVE},
		{"Projection", testProjection},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			b := newBackend()
			defer func() {
				if err := b.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			g.run(&H{t: t, b: b, ref: kernels.NewReference(), rng: rand.New(rand.NewPCG(7, uint64(len(g.name)))), big: !cfg.small && !testing.Short()})
		})
	}
}

// H is the harness of one op group: the backend under test, the reference and a
// deterministic random source.
type H struct {
	t   *testing.T
	b   kernels.Backend
	ref *kernels.Reference
	rng *rand.Rand
	big bool // run the large (full-model) cases
}

// pair is one logical tensor held by both backends plus the host values it was made
// from (for the immutability check of inputs).
type pair struct {
	host  []float32
	shape []int
	r, g  kernels.Tensor
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// randn returns n normal values times scale plus offset.
func (h *H) randn(n int, scale, offset float64) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(h.rng.NormFloat64()*scale + offset)
	}
	return d
}

// data uploads host values to both backends.
func (h *H) data(d []float32, shape ...int) *pair {
	if numel(shape) != len(d) {
		panic(fmt.Sprintf("kerneltest: %d values for shape %v", len(d), shape))
	}
	return &pair{host: slices.Clone(d), shape: slices.Clone(shape), r: h.ref.Upload(d, shape...), g: h.b.Upload(d, shape...)}
}

// input uploads standard normal values.
func (h *H) input(shape ...int) *pair { return h.data(h.randn(numel(shape), 1, 0), shape...) }

// output makes an output tensor: zeros for the reference, NaN sentinels for the
// backend under test, so any element the backend fails to write (or reads before
// writing) shows up as NaN.
func (h *H) output(shape ...int) *pair {
	s := make([]float32, numel(shape))
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return &pair{host: s, shape: slices.Clone(shape), r: h.ref.Zeros(shape...), g: h.b.Upload(s, shape...)}
}

// free releases the backend copies of pairs.
func (h *H) free(ps ...*pair) {
	for _, p := range ps {
		if p != nil {
			h.b.Free(p.g)
			h.ref.Free(p.r)
		}
	}
}

func rt(p *pair) kernels.Tensor {
	if p == nil {
		return nil
	}
	return p.r
}

func gt(p *pair) kernels.Tensor {
	if p == nil {
		return nil
	}
	return p.g
}

// download fetches a backend tensor, failing the test on error.
func (h *H) download(b kernels.Backend, t kernels.Tensor) []float32 {
	h.t.Helper()
	d, err := b.Download(t)
	if err != nil {
		h.t.Fatalf("Download: %v", err)
	}
	return d
}

// Compare returns the normalised MSE of got against want and the maximum absolute
// error. A NaN or Inf in got where want is finite makes both +Inf.
func Compare(got, want []float32) (nmse, maxAbs float64) {
	if len(got) != len(want) {
		return math.Inf(1), math.Inf(1)
	}
	var num, den float64
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) || math.IsInf(g, 0) {
			if g == w {
				continue
			}
			return math.Inf(1), math.Inf(1)
		}
		d := g - w
		num += d * d
		den += w * w
		maxAbs = max(maxAbs, math.Abs(d))
	}
	if num == 0 {
		return 0, maxAbs
	}
	return num / max(den, 1e-30), maxAbs
}

// check compares output out of both backends with tolerance tol and verifies that
// every input is unchanged in the backend under test.
func (h *H) check(name string, out *pair, tol float64, inputs ...*pair) {
	h.t.Helper()
	got, want := h.download(h.b, out.g), h.download(h.ref, out.r)
	nmse, maxAbs := Compare(got, want)
	if nmse > tol || math.IsNaN(nmse) {
		bad := -1
		for i := range got {
			if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= math.Sqrt(tol)*(1+math.Abs(float64(want[i])))) {
				bad = i
				break
			}
		}
		detail := ""
		if bad >= 0 {
			detail = fmt.Sprintf("; first bad element %d: got %g want %g", bad, got[bad], want[bad])
		}
		h.t.Errorf("%s: normalised MSE %.3g > %.3g, max abs err %.3g%s", name, nmse, tol, maxAbs, detail)
	} else if testing.Verbose() {
		h.t.Logf("%s: nmse %.3g max abs %.3g", name, nmse, maxAbs)
	}
	h.unchanged(name, inputs...)
}

// unchanged verifies that the backend copies of inputs still hold their host values.
func (h *H) unchanged(name string, inputs ...*pair) {
	h.t.Helper()
	for n, in := range inputs {
		if in == nil {
			continue
		}
		d := h.download(h.b, in.g)
		for i := range d {
			if math.Float32bits(d[i]) != math.Float32bits(in.host[i]) {
				h.t.Errorf("%s: input %d %v modified at element %d: %g, was %g", name, n, in.shape, i, d[i], in.host[i])
				break
			}
		}
	}
}

func testMatMul(h *H) {
	type size struct{ m, k, n int }
	sizes := []size{{1, 1, 1}, {1, 7, 1}, {3, 1, 5}, {63, 64, 65}, {65, 63, 64}, {64, 65, 63}, {257, 33, 17}, {5, 1025, 3}, {17, 384, 129}, {1025, 64, 65}}
	if h.big {
		sizes = append(sizes, size{257, 1536, 65}, size{1025, 384, 1152})
	}
	for si, s := range sizes {
		for _, transB := range []bool{false, true} {
			// All 16 epilogue combinations on the first sizes, none and all on the rest.
			combos := []int{0, 15}
			if si < 5 {
				combos = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
			}
			for _, c := range combos {
				name := fmt.Sprintf("m%d_k%d_n%d_trans%v_bias%v_gelu%v_gamma%v_res%v", s.m, s.k, s.n, transB, c&1 != 0, c&2 != 0, c&4 != 0, c&8 != 0)
				h.matMulCase(name, s.m, s.k, s.n, transB, c&1 != 0, c&2 != 0, c&4 != 0, c&8 != 0, false)
			}
			// In-place residual: Residual aliases dst.
			h.matMulCase(fmt.Sprintf("m%d_k%d_n%d_trans%v_inplace_residual", s.m, s.k, s.n, transB), s.m, s.k, s.n, transB, true, false, true, true, true)
			h.matMulCase(fmt.Sprintf("m%d_k%d_n%d_trans%v_inplace_residual_gelu", s.m, s.k, s.n, transB), s.m, s.k, s.n, transB, false, true, false, true, true)
		}
	}
}

func (h *H) matMulCase(name string, m, k, n int, transB, bias, gelu, gamma, res, inplace bool) {
	h.t.Helper()
	a := h.input(m, k)
	var b *pair
	if transB {
		b = h.input(n, k)
	} else {
		b = h.input(k, n)
	}
	var pb, pg, pr *pair
	if bias {
		pb = h.input(n)
	}
	if gamma {
		pg = h.data(h.randn(n, 0.5, 0.2), n)
	}
	var dst *pair
	if inplace {
		dst = h.input(m, n) // dst holds the residual
		pr = dst
	} else {
		dst = h.output(m, n)
		if res {
			pr = h.input(m, n)
		}
	}
	h.ref.MatMul(dst.r, a.r, b.r, transB, kernels.Epilogue{Bias: rt(pb), GELU: gelu, Gamma: rt(pg), Residual: rt(pr)})
	h.b.MatMul(dst.g, a.g, b.g, transB, kernels.Epilogue{Bias: gt(pb), GELU: gelu, Gamma: gt(pg), Residual: gt(pr)})
	ins := []*pair{a, b, pb, pg}
	if !inplace {
		ins = append(ins, pr)
	}
	h.check("MatMul/"+name, dst, Tol, ins...)
	h.free(a, b, pb, pg, dst)
	if !inplace {
		h.free(pr)
	}
}

func testLayerNorm(h *H) {
	type c struct {
		m, c          int
		eps           float32
		scale, offset float64
		inplace       bool
	}
	cases := []c{{1, 1, 1e-6, 1, 0, false}, {1, 48, 1e-6, 1, 0, false}, {63, 65, 1e-5, 3, 0, false}, {65, 384, 1e-8, 1, 0, true},
		// A large common offset: a one-pass float32 variance would lose all precision.
		{257, 384, 1e-6, 1, 100, false}, {64, 64, 1e-6, 0.01, -5, true}}
	if h.big {
		cases = append(cases, c{1025, 384, 1e-6, 1, 0, false})
	}
	for _, cs := range cases {
		name := fmt.Sprintf("LayerNorm/m%d_c%d_eps%g_off%g_inplace%v", cs.m, cs.c, cs.eps, cs.offset, cs.inplace)
		x := h.data(h.randn(cs.m*cs.c, cs.scale, cs.offset), cs.m, cs.c)
		g := h.data(h.randn(cs.c, 0.5, 1), cs.c)
		be := h.input(cs.c)
		if cs.inplace {
			h.ref.LayerNorm(x.r, x.r, g.r, be.r, cs.eps)
			h.b.LayerNorm(x.g, x.g, g.g, be.g, cs.eps)
			h.check(name, x, Tol, g, be)
			h.free(x, g, be)
			continue
		}
		dst := h.output(cs.m, cs.c)
		h.ref.LayerNorm(dst.r, x.r, g.r, be.r, cs.eps)
		h.b.LayerNorm(dst.g, x.g, g.g, be.g, cs.eps)
		h.check(name, dst, Tol, x, g, be)
		h.free(x, g, be, dst)
	}
}

// testGELU checks the GELU of MatMul's epilogue over its whole range, tails
// included (GELU(x) → x and → 0), as a product with a 1×1 identity: dst = GELU(x·1).
func testGELU(h *H) {
	for _, n := range []int{1, 63, 64, 65, 257, 1025 * 7} {
		name := fmt.Sprintf("GELU/n%d", n)
		d := h.randn(n, 3, 0)
		if n > 8 {
			d[0], d[1], d[2], d[3], d[4] = 12, -12, 0, 40, -40
		}
		x, one := h.data(d, n, 1), h.data([]float32{1}, 1, 1)
		dst := h.output(n, 1)
		h.ref.MatMul(dst.r, x.r, one.r, true, kernels.Epilogue{GELU: true})
		h.b.MatMul(dst.g, x.g, one.g, true, kernels.Epilogue{GELU: true})
		h.check(name, dst, Tol, x, one)
		h.free(x, one, dst)
	}
}

func testAddScaled(h *H) {
	for _, n := range []int{1, 63, 64, 65, 1025} {
		for _, s := range []float32{0, 1, -0.5, 3.25} {
			for mode := range 3 { // 0: separate dst, 1: dst = a, 2: dst = b
				name := fmt.Sprintf("AddScaled/n%d_s%g_alias%d", n, s, mode)
				a, b := h.input(n, 3), h.input(n, 3)
				switch mode {
				case 0:
					dst := h.output(n, 3)
					h.ref.AddScaled(dst.r, a.r, b.r, s)
					h.b.AddScaled(dst.g, a.g, b.g, s)
					h.check(name, dst, Tol, a, b)
					h.free(dst)
				case 1:
					h.ref.AddScaled(a.r, a.r, b.r, s)
					h.b.AddScaled(a.g, a.g, b.g, s)
					h.check(name, a, Tol, b)
				case 2:
					h.ref.AddScaled(b.r, a.r, b.r, s)
					h.b.AddScaled(b.g, a.g, b.g, s)
					h.check(name, b, Tol, a)
				}
				h.free(a, b)
			}
		}
	}
}

func testCopyRows(h *H) {
	type c struct{ rd, rs, cols, dstStart, srcStart, n int }
	for _, cs := range []c{{1, 1, 1, 0, 0, 1}, {5, 3, 7, 2, 0, 3}, {1025, 1024, 384, 1, 0, 1024}, {64, 65, 65, 63, 64, 1}, {10, 10, 3, 4, 2, 0}, {257, 63, 48, 100, 1, 62}} {
		name := fmt.Sprintf("CopyRows/%v", cs)
		src := h.input(cs.rs, cs.cols)
		dst := h.input(cs.rd, cs.cols) // rows outside the copied range must keep these values
		h.ref.CopyRows(dst.r, cs.dstStart, src.r, cs.srcStart, cs.n)
		h.b.CopyRows(dst.g, cs.dstStart, src.g, cs.srcStart, cs.n)
		h.check(name, dst, 0, src) // a copy is exact
		h.free(src, dst)
	}
}

func testAttention(h *H) {
	type c struct {
		nq, nk, c, heads int
		self, mask       bool
	}
	cases := []c{
		{1, 1, 48, 6, true, false}, {1, 1, 8, 1, false, true},
		{63, 63, 48, 1, true, false}, {65, 65, 384, 6, true, true}, {64, 64, 48, 8, true, false},
		{257, 257, 384, 6, true, false},
		{45, 64, 384, 8, false, true}, {45, 257, 384, 8, false, false}, {63, 1, 48, 8, false, true},
		{1, 1025, 48, 6, false, true}, {65, 130, 96, 6, false, true},
	}
	if h.big {
		cases = append(cases, c{1025, 1025, 384, 6, true, false}, c{45, 1024, 384, 8, false, true})
	}
	for _, cs := range cases {
		for _, scale := range []float32{0.125, 1 / float32(math.Sqrt(float64(cs.c/cs.heads)))} {
			name := fmt.Sprintf("Attention/nq%d_nk%d_c%d_h%d_self%v_mask%v_scale%.3g", cs.nq, cs.nk, cs.c, cs.heads, cs.self, cs.mask, scale)
			q := h.data(h.randn(cs.nq*cs.c, 2, 0), cs.nq, cs.c)
			k, v := q, q
			if !cs.self {
				k = h.data(h.randn(cs.nk*cs.c, 2, 0.3), cs.nk, cs.c)
				v = h.input(cs.nk, cs.c)
			}
			var mask *pair
			if cs.mask {
				m := make([]float32, cs.nk)
				for j := range m {
					switch h.rng.IntN(3) {
					case 0:
						if j != 0 { // keep at least one key visible
							m[j] = -1e9
						}
					case 1:
						m[j] = float32(h.rng.NormFloat64())
					}
				}
				mask = h.data(m, cs.nk)
			}
			dst := h.output(cs.nq, cs.c)
			h.ref.Attention(dst.r, q.r, k.r, v.r, rt(mask), cs.heads, scale)
			h.b.Attention(dst.g, q.g, k.g, v.g, gt(mask), cs.heads, scale)
			h.check(name, dst, Tol, q, k, v, mask)
			if cs.self {
				h.free(q, mask, dst)
			} else {
				h.free(q, k, v, mask, dst)
			}
		}
	}
}

func testPatchEmbed(h *H) {
	type c struct{ c, hgt, wid, patch int }
	cases := []c{{5, 4, 6, 2}, {48, 28, 42, 14}, {1, 14, 14, 14}, {65, 98, 98, 14}}
	if h.big {
		cases = append(cases, c{384, 448, 448, 14})
	}
	for _, cs := range cases {
		for variant := range 4 {
			withCls, withPos := variant&1 != 0, variant&2 != 0
			name := fmt.Sprintf("PatchEmbed/c%d_%dx%d_p%d_cls%v_pos%v", cs.c, cs.hgt, cs.wid, cs.patch, withCls, withPos)
			img := h.input(3, cs.hgt, cs.wid)
			w := h.data(h.randn(cs.c*3*cs.patch*cs.patch, 0.05, 0), cs.c, 3, cs.patch, cs.patch)
			bias := h.input(cs.c)
			rows := (cs.hgt / cs.patch) * (cs.wid / cs.patch)
			var cls, pos *pair
			if withCls {
				cls = h.input(1, 1, cs.c)
				rows++
			}
			if withPos {
				pos = h.input(1, rows, cs.c)
			}
			dst := h.output(rows, cs.c)
			h.ref.PatchEmbed(dst.r, img.r, w.r, bias.r, rt(cls), rt(pos), cs.patch)
			h.b.PatchEmbed(dst.g, img.g, w.g, bias.g, gt(cls), gt(pos), cs.patch)
			h.check(name, dst, Tol, img, w, bias, cls, pos)
			h.free(img, w, bias, cls, pos, dst)
		}
	}
}

func testBicubic(h *H) {
	type c struct {
		hi, wi, ho, wo, c int
		sh, sw            float64
	}
	cases := []c{
		{37, 37, 32, 32, 384, 32.1 / 37, 32.1 / 37}, // DINOv2 ViT-S/14 at 448
		{5, 5, 7, 7, 48, 7.1 / 5, 7.1 / 5},          // the dinov2-tiny fixture
		{37, 37, 64, 64, 3, 64.1 / 37, 64.1 / 37},
		{1, 1, 3, 3, 5, 3, 3},
		{4, 6, 2, 9, 7, 2.0 / 4, 9.0 / 6},
		{3, 2, 3, 2, 1, 1, 1},
	}
	for _, cs := range cases {
		name := fmt.Sprintf("Bicubic/%dx%d_to_%dx%d_c%d", cs.hi, cs.wi, cs.ho, cs.wo, cs.c)
		src := h.input(cs.hi*cs.wi, cs.c)
		dst := h.output(cs.ho*cs.wo, cs.c)
		h.ref.Bicubic(dst.r, src.r, cs.hi, cs.wi, cs.ho, cs.wo, cs.sh, cs.sw)
		h.b.Bicubic(dst.g, src.g, cs.hi, cs.wi, cs.ho, cs.wo, cs.sh, cs.sw)
		h.check(name, dst, Tol, src)
		h.free(src, dst)
	}
}

// cosines returns the float64 cosine matrix of a[na,c] and b[nb,c] with the
// reference's normalisation.
func cosines(a, b []float32, c int) [][]float64 {
	norm := func(x []float32) float64 {
		var s float64
		for _, v := range x {
			s += float64(v) * float64(v)
		}
		return max(math.Sqrt(s), 1e-12)
	}
	na, nb := len(a)/c, len(b)/c
	out := make([][]float64, na)
	for i := range out {
		out[i] = make([]float64, nb)
		ar := a[i*c : (i+1)*c]
		an := norm(ar)
		for j := range nb {
			br := b[j*c : (j+1)*c]
			var s float64
			for d := range ar {
				s += float64(ar[d]) * float64(br[d])
			}
			out[i][j] = s / (an * norm(br))
		}
	}
	return out
}

func testCosineTopK(h *H) {
	type c struct {
		na, nb, c, k int
		ties         bool
	}
	cases := []c{{1, 1, 8, 1, false}, {63, 257, 48, 12, false}, {65, 64, 384, 64, false}, {64, 65, 65, 1, false},
		{1, 1025, 384, 12, false}, {17, 40, 48, 12, true}, {9, 12, 384, 12, true}, {5, 7, 3, 1, true}}
	if h.big {
		cases = append(cases, c{1024, 1024, 384, 12, false})
	}
	for _, cs := range cases {
		name := fmt.Sprintf("CosineTopK/na%d_nb%d_c%d_k%d_ties%v", cs.na, cs.nb, cs.c, cs.k, cs.ties)
		ad, bd := h.randn(cs.na*cs.c, 1, 0.2), h.randn(cs.nb*cs.c, 1, 0.2)
		if cs.ties {
			// Exact duplicate rows of b (the lower index must win), a zero row of b
			// (cosine 0) and a zero row of a (all cosines 0: indices 0…k−1).
			for j := cs.nb / 2; j < cs.nb; j += 2 {
				copy(bd[j*cs.c:(j+1)*cs.c], bd[(j-cs.nb/2)*cs.c:])
			}
			clear(bd[1*cs.c : 2*cs.c])
			clear(ad[:cs.c])
			if cs.na > 2 { // a query equal to a duplicated b row
				copy(ad[2*cs.c:3*cs.c], bd[:cs.c])
			}
		}
		a, b := h.data(ad, cs.na, cs.c), h.data(bd, cs.nb, cs.c)
		vals, idx := h.output(cs.na, cs.k), h.output(cs.na, cs.k)
		h.ref.CosineTopK(vals.r, idx.r, a.r, b.r, cs.k)
		h.b.CosineTopK(vals.g, idx.g, a.g, b.g, cs.k)
		h.check(name+"/vals", vals, Tol, a, b)
		gotIdx, wantIdx := h.download(h.b, idx.g), h.download(h.ref, idx.r)
		wantVals := h.download(h.ref, vals.r)
		cos := cosines(ad, bd, cs.c)
		for i := range cs.na {
			seen := map[float32]bool{}
			for t := range cs.k {
				g, w := gotIdx[i*cs.k+t], wantIdx[i*cs.k+t]
				if g != float32(int(g)) || g < 0 || int(g) >= cs.nb || seen[g] {
					h.t.Errorf("%s: row %d rank %d: index %g is not a new row of b", name, i, t, g)
					break
				}
				seen[g] = true
				if g == w {
					continue
				}
				// A different index is acceptable only for a near-tie in float32 that
				// is not an exact tie (exact ties must go to the lower index).
				gc, wc := cos[i][int(g)], float64(wantVals[i*cs.k+t])
				if gc == cos[i][int(w)] || math.Abs(gc-wc) > 1e-6 {
					h.t.Errorf("%s: row %d rank %d: index %g (cos %.9g), want %g (cos %.9g)", name, i, t, g, gc, w, wc)
					break
				}
			}
		}
		h.free(a, b, vals, idx)
	}
}

// testCosineTopKTie puts two rows of b with exactly equal cosines to the query at the
// 12th and 13th place (k−1 rows nearer than both elsewhere in b): the lower index must
// come first, as torch.topk does on CPU, whichever of the two is written first. The
// pair is an exact copy (every backend computes the same cosine for both) or a copy
// scaled by 2 (exact in float32 arithmetic; asserted where the backend's two cosines
// are equal, as they should be). With k = 12 the higher index is left out.
func testCosineTopKTie(h *H) {
	const nb, c = 64, 384
	for _, cs := range []struct {
		k, lo, hi int
		scale     float32
	}{{12, 9, 50, 1}, {12, 50, 9, 1}, {13, 9, 50, 1}, {13, 40, 3, 2}, {13, 3, 40, 2}} {
		name := fmt.Sprintf("CosineTopKTie/k%d_first%d_copy%d_x%g", cs.k, cs.lo, cs.hi, cs.scale)
		ad, bd := h.randn(c, 1, 0), h.randn(nb*c, 1, 0) // b: cosines ≈ ±0.05
		near := 0
		for j := 0; near < 11; j = (j + 7) % nb { // 11 rows nearer than the tied pair
			if j != cs.lo && j != cs.hi {
				for d := range c {
					bd[j*c+d] = ad[d] + 0.1*bd[j*c+d]
				}
				near++
			}
		}
		for d := range c {
			bd[cs.lo*c+d] = ad[d] + 0.6*bd[cs.lo*c+d]
			bd[cs.hi*c+d] = cs.scale * bd[cs.lo*c+d]
		}
		a, b := h.data(ad, 1, c), h.data(bd, nb, c)
		vals, idx := h.output(1, cs.k), h.output(1, cs.k)
		h.b.CosineTopK(vals.g, idx.g, a.g, b.g, cs.k)
		gv, gi := h.download(h.b, vals.g), h.download(h.b, idx.g)
		first, second := min(cs.lo, cs.hi), max(cs.lo, cs.hi)
		switch {
		case cs.k == 13 && gv[11] != gv[12]:
			h.t.Logf("%s: the backend's cosines of the pair differ (%.9g, %.9g)", name, gv[11], gv[12])
		case gi[11] != float32(first):
			h.t.Errorf("%s: rank 12 is row %g (cos %.9g), want the lower index %d; indices %v", name, gi[11], gv[11], first, gi)
		case cs.k == 13 && gi[12] != float32(second):
			h.t.Errorf("%s: rank 13 is row %g, want %d; indices %v", name, gi[12], second, gi)
		}
		h.free(a, b, vals, idx)
	}
}

func testNVE(h *H) {
	type c struct {
		na, nb, c, k, r int
		alpha           float32
	}
	cases := []c{{63, 257, 48, 12, 4, 0.8}, {1, 12, 384, 12, 4, 0.8}, {65, 64, 384, 12, 4, 0.8}, {64, 65, 65, 12, 4, 1},
		{5, 9, 384, 1, 0, 0.8}, {5, 9, 384, 1, 1, 0.8}, {7, 9, 48, 3, 2, 0.8}, {7, 9, 48, 2, 1, 0.5}, {3, 20, 384, 12, 0, 0.8}}
	// Cases keep r < k (or k = 1): the local covariance of k points has rank ≤ k − 1,
	// so for r = k the last eigenvector belongs to a zero eigenvalue and is a direction
	// picked by rounding noise, different in every precision.
	if h.big {
		cases = append(cases, c{1024, 1024, 384, 12, 4, 0.8})
	}
	for _, cs := range cases {
		name := fmt.Sprintf("NVE/na%d_nb%d_c%d_k%d_r%d", cs.na, cs.nb, cs.c, cs.k, cs.r)
		f := h.data(h.randn(cs.na*cs.c, 1, 0.1), cs.na, cs.c)
		normals := h.data(h.randn(cs.nb*cs.c, 1, 0.1), cs.nb, cs.c)
		// Both backends get the reference's neighbours.
		rv, ri := h.ref.Zeros(cs.na, cs.k), h.ref.Zeros(cs.na, cs.k)
		h.ref.CosineTopK(rv, ri, f.r, normals.r, cs.k)
		vals := h.data(h.download(h.ref, rv), cs.na, cs.k)
		idx := h.data(h.download(h.ref, ri), cs.na, cs.k)
		dst := h.output(cs.na, cs.c)
		h.ref.NVE(dst.r, f.r, normals.r, vals.r, idx.r, cs.r, cs.alpha)
		h.b.NVE(dst.g, f.g, normals.g, vals.g, idx.g, cs.r, cs.alpha)
		h.check(name, dst, Tol, f, normals, vals, idx)
		h.free(f, normals, vals, idx, dst)
	}
}

func testProjection(h *H) {
	type c struct{ n, c, m int }
	for _, cs := range []c{{1, 48, 1}, {63, 384, 45}, {65, 65, 3}, {1025, 384, 45}} {
		name := fmt.Sprintf("Projection/n%d_c%d_m%d", cs.n, cs.c, cs.m)
		dd := h.randn(cs.n*cs.c, 1, 0)
		if cs.n > 3 {
			clear(dd[cs.c : 2*cs.c]) // a zero deviation: both normalisations clamp
		}
		d := h.data(dd, cs.n, cs.c)
		ts := h.input(cs.m, cs.c)
		dst := h.output(cs.n)
		h.ref.Projection(dst.r, d.r, ts.r)
		h.b.Projection(dst.g, d.g, ts.g)
		h.check(name, dst, Tol, d, ts)
		h.free(d, ts, dst)
	}
}
