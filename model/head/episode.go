package head

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/tensor"
)

// MaskLogit is what the IDE adds to the attention logits of non-defect patches.
const MaskLogit = -1e9

// Model is a head bound to a backend: the IDE parameters are uploaded once and shared
// by every episode made from it. A Model without weights does normal-only scoring.
type Model struct {
	be  kernels.Backend
	cfg Config
	w   *Weights
	p   map[string]kernels.Tensor // uploaded parameters; the in-projection split into q/k/v
}

// New binds w to be. w may be nil: the model then scores with normal references only
// (spec §1, a = 0) and uses the default hyper-parameters.
func New(be kernels.Backend, w *Weights) *Model {
	m := &Model{be: be, cfg: DefaultConfig(), w: w, p: map[string]kernels.Tensor{}}
	if w == nil {
		return m
	}
	m.cfg = w.Config
	c := w.C()
	up := func(key string, t *tensor.Dense) { m.p[key] = be.Upload(t.Data, t.Shape...) }
	for _, name := range []string{NameVectors, NameOutProjW, NameOutProjB, NameNormW, NameNormB,
		NameFC1W, NameFC1B, NameFC2W, NameFC2B, NameNormOutW, NameNormOutB} {
		up(name, w.Tensors[name])
	}
	inW, inB := w.Tensors[NameInProjW].Data, w.Tensors[NameInProjB].Data
	for i, part := range []string{"q", "k", "v"} {
		m.p["w"+part] = be.Upload(inW[i*c*c:(i+1)*c*c], c, c)
		m.p["b"+part] = be.Upload(inB[i*c:(i+1)*c], c)
	}
	return m
}

// Config returns the hyper-parameters in use.
func (m *Model) Config() Config { return m.cfg }

// Weights returns the weights the model was made with (nil for normal-only).
func (m *Model) Weights() *Weights { return m.w }

// Close frees the uploaded parameters.
func (m *Model) Close() {
	for k, t := range m.p {
		m.be.Free(t)
		delete(m.p, k)
	}
}

// Abnormal is an abnormal reference: its patch features [N, C] and its defect patch
// mask (N values on the same grid, true = defect; see imaging.PatchMask).
type Abnormal struct {
	Features *tensor.Dense
	Mask     []bool
}

// Episode is a prepared set of references: the normal patches live in the backend,
// the abnormal references are denoised and encoded into T* once. Score reuses all of
// it for every query. An Episode is not safe for concurrent use.
type Episode struct {
	m        *Model
	g, c     int
	k, r     int
	normals  kernels.Tensor // [pool, C]
	abnNVE   kernels.Tensor // [a·N, C], nil for a = 0
	tstar    kernels.Tensor // [M, C], nil for a = 0
	masks    [][]bool       // final defect patch masks (after the empty-mask fallback)
	pos      []float32      // position code [a·N, C]
	warnings []string

	vals, idx, dev, sa kernels.Tensor // per-query workspace, allocated on first use
}

func checkFeatures(what string, t *tensor.Dense, c int) error {
	if t == nil {
		return fmt.Errorf("head: %s: no features", what)
	}
	if len(t.Shape) != 2 || t.Shape[0] < 1 {
		return fmt.Errorf("head: %s: features have shape %v, want [N C]", what, t.Shape)
	}
	if t.Shape[1] != c {
		return fmt.Errorf("head: %s: features are %d wide, want %d", what, t.Shape[1], c)
	}
	if i := tensor.NonFinite(t.Data); i >= 0 {
		return fmt.Errorf("head: %s: non-finite feature value %v at patch %d, channel %d", what, t.Data[i], i/c, i%c)
	}
	return nil
}

// gridOf returns G for N = G² patches.
func gridOf(what string, n int) (int, error) {
	g := int(math.Round(math.Sqrt(float64(n))))
	if g*g != n {
		return 0, fmt.Errorf("head: %s: %d patches do not form a square grid", what, n)
	}
	return g, nil
}

// NewEpisode prepares the references: normals are the normal references' features
// ([N, C] each, may be empty), abnormals the abnormal references (may be empty, but not
// both). All share one G×G grid and the head's width. Abnormal references need weights.
// Without normal references the normal patches are the abnormal references' patches
// outside their masks as given (an empty mask contributes all its patches; its
// fallback mask, chosen afterwards from the deviations, does not change the pool).
func (m *Model) NewEpisode(normals []*tensor.Dense, abnormals []Abnormal) (*Episode, error) {
	n, c, g, err := m.checkReferences(normals, abnormals)
	if err != nil {
		return nil, err
	}
	pool, err := normalPool(normals, abnormals, n, c)
	if err != nil {
		return nil, err
	}
	rows := len(pool) / c
	e := &Episode{m: m, g: g, c: c, normals: m.be.Upload(pool, rows, c)}
	e.k = min(m.cfg.TopK, rows)
	e.r = min(m.cfg.TopR, e.k)
	if len(abnormals) == 0 {
		e.k, e.r = 1, 0 // s_n needs only the nearest normal patch
		return e, nil
	}
	if err := e.encodeAbnormals(abnormals, n); err != nil {
		return nil, err
	}
	return e, nil
}

// checkReferences validates the references of an episode and returns their patch
// count n, width c and grid side g.
func (m *Model) checkReferences(normals []*tensor.Dense, abnormals []Abnormal) (n, c, g int, err error) {
	if len(normals) == 0 && len(abnormals) == 0 {
		return 0, 0, 0, errors.New("head: an episode needs at least one normal or abnormal reference")
	}
	if len(abnormals) > 0 && m.w == nil {
		return 0, 0, 0, errors.New("head: abnormal references need head weights")
	}
	var first *tensor.Dense
	if len(normals) > 0 {
		first = normals[0]
	} else {
		first = abnormals[0].Features
	}
	if first == nil || len(first.Shape) != 2 {
		return 0, 0, 0, errors.New("head: reference features must have shape [N C]")
	}
	n, c = first.Shape[0], first.Shape[1]
	if m.w != nil && c != m.w.C() {
		return 0, 0, 0, fmt.Errorf("head: reference features are %d wide, the head expects %d", c, m.w.C())
	}
	if g, err = gridOf("references", n); err != nil {
		return 0, 0, 0, err
	}
	check := func(what string, t *tensor.Dense) error {
		if err := checkFeatures(what, t, c); err != nil {
			return err
		}
		if t.Shape[0] != n {
			return fmt.Errorf("head: %s has %d patches, the first reference %d", what, t.Shape[0], n)
		}
		return nil
	}
	for i, t := range normals {
		if err := check(fmt.Sprintf("normal reference %d", i+1), t); err != nil {
			return 0, 0, 0, err
		}
	}
	for i, a := range abnormals {
		if err := check(fmt.Sprintf("abnormal reference %d", i+1), a.Features); err != nil {
			return 0, 0, 0, err
		}
		if len(a.Mask) != n {
			return 0, 0, 0, fmt.Errorf("head: abnormal reference %d: mask has %d patches, features %d", i+1, len(a.Mask), n)
		}
	}
	return n, c, g, nil
}

// normalPool returns the normal patches [rows, C] of an episode: the normal
// references, or (without any) the abnormal references' patches outside their masks.
func normalPool(normals []*tensor.Dense, abnormals []Abnormal, n, c int) ([]float32, error) {
	var pool []float32
	if len(normals) > 0 {
		pool = make([]float32, 0, len(normals)*n*c)
		for _, t := range normals {
			pool = append(pool, t.Data...)
		}
		return pool, nil
	}
	for _, a := range abnormals {
		for p := 0; p < n; p++ {
			if !a.Mask[p] {
				pool = append(pool, a.Features.Data[p*c:(p+1)*c]...)
			}
		}
	}
	if len(pool) == 0 {
		return nil, errors.New("head: no normal references and the abnormal masks cover every patch: no normal patches to compare with")
	}
	return pool, nil
}

// encodeAbnormals prepares the abnormal references (n patches each): their
// NVE-denoised features, their defect masks (with the empty-mask fallback) and
// position code, and T*, the IDE's encoding of them. On error the episode is closed.
func (e *Episode) encodeAbnormals(abnormals []Abnormal, n int) error {
	be, c := e.m.be, e.c
	na := len(abnormals) * n
	feats := make([]float32, 0, na*c)
	for _, a := range abnormals {
		feats = append(feats, a.Features.Data...)
	}
	fa := be.Upload(feats, na, c)
	defer be.Free(fa)
	e.abnNVE = be.Zeros(na, c)
	e.nve(e.abnNVE, fa, na)
	maskLogits, err := e.defectMasks(abnormals, n)
	if err != nil {
		return err
	}
	keys := be.Upload(e.pos, na, c)
	defer be.Free(keys)
	be.AddScaled(keys, keys, fa, 1) // K = F^a + P
	mt := be.Upload(maskLogits, na)
	defer be.Free(mt)
	e.tstar = e.m.encode(keys, e.abnNVE, mt)
	return nil
}

// defectMasks sets the episode's final defect masks, an empty mask replaced by the
// reference's max(1, N/100) patches of largest NVE deviation (with a warning), and the
// position code of the keys; it returns the attention mask logits (MaskLogit outside
// the masks). On error the episode is closed.
func (e *Episode) defectMasks(abnormals []Abnormal, n int) ([]float32, error) {
	be, g, c := e.m.be, e.g, e.c
	na := len(abnormals) * n
	var dev []float32
	var err error
	e.masks = make([][]bool, len(abnormals))
	e.pos = make([]float32, 0, na*c)
	maskLogits := make([]float32, na)
	for i, a := range abnormals {
		mask := append([]bool(nil), a.Mask...)
		if !anyTrue(mask) {
			if dev == nil {
				if dev, err = be.Download(e.abnNVE); err != nil {
					e.Close()
					return nil, fmt.Errorf("head: %w", err)
				}
			}
			top := topByNorm(dev[i*n*c:(i+1)*n*c], c, max(1, n/100))
			for _, p := range top {
				mask[p] = true
			}
			e.warnings = append(e.warnings, fmt.Sprintf(
				"abnormal reference %d: its mask covers no patch; using its %d patch(es) of largest deviation ‖d‖ as the mask", i+1, len(top)))
		}
		e.masks[i] = mask
		e.pos = append(e.pos, PositionCode(mask, g, c)...)
		for p, d := range mask {
			if !d {
				maskLogits[i*n+p] = MaskLogit
			}
		}
	}
	return maskLogits, nil
}

func anyTrue(b []bool) bool {
	for _, v := range b {
		if v {
			return true
		}
	}
	return false
}

// topByNorm returns the indices of the cnt rows of d (width c) with the largest norm.
func topByNorm(d []float32, c, cnt int) []int {
	n := len(d) / c
	norms := make([]float64, n)
	order := make([]int, n)
	for p := range order {
		order[p] = p
		for _, v := range d[p*c : (p+1)*c] {
			norms[p] += float64(v) * float64(v)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return norms[order[a]] > norms[order[b]] })
	return order[:cnt]
}

// nve writes the NVE-denoised deviations of f [rows, C] against the normal pool into dst.
func (e *Episode) nve(dst, f kernels.Tensor, rows int) {
	be := e.m.be
	vals, idx := be.Zeros(rows, e.k), be.Zeros(rows, e.k)
	defer be.Free(vals)
	defer be.Free(idx)
	be.CosineTopK(vals, idx, f, e.normals, e.k)
	be.NVE(dst, f, e.normals, vals, idx, e.r, e.m.cfg.Alpha)
}

// encode is the IDE (spec §6): T* = LN_out(T' + FFN(T')), T' = LN(T + MHA(T, keys, values)).
func (m *Model) encode(keys, values, mask kernels.Tensor) kernels.Tensor {
	be, p := m.be, m.p
	mv, c := m.w.M(), m.w.C()
	na := kernels.Rows(keys)
	q, k, v := be.Zeros(mv, c), be.Zeros(na, c), be.Zeros(na, c)
	att, t1 := be.Zeros(mv, c), be.Zeros(mv, c)
	hid := be.Zeros(mv, 4*c)
	defer func() {
		for _, t := range []kernels.Tensor{q, k, v, att, t1, hid} {
			be.Free(t)
		}
	}()
	t := p[NameVectors]
	be.MatMul(q, t, p["wq"], true, kernels.Epilogue{Bias: p["bq"]})
	be.MatMul(k, keys, p["wk"], true, kernels.Epilogue{Bias: p["bk"]})
	be.MatMul(v, values, p["wv"], true, kernels.Epilogue{Bias: p["bv"]})
	be.Attention(att, q, k, v, mask, m.cfg.Heads, float32(1/math.Sqrt(float64(c/m.cfg.Heads))))
	be.MatMul(t1, att, p[NameOutProjW], true, kernels.Epilogue{Bias: p[NameOutProjB], Residual: t})
	be.LayerNorm(t1, t1, p[NameNormW], p[NameNormB], 1e-5)
	be.MatMul(hid, t1, p[NameFC1W], true, kernels.Epilogue{Bias: p[NameFC1B], GELU: true})
	out := be.Zeros(mv, c)
	be.MatMul(out, hid, p[NameFC2W], true, kernels.Epilogue{Bias: p[NameFC2B], Residual: t1})
	be.LayerNorm(out, out, p[NameNormOutW], p[NameNormOutB], 1e-8)
	return out
}

// Grid is the side G of the patch grid.
func (e *Episode) Grid() int { return e.g }

// Width is the feature width C.
func (e *Episode) Width() int { return e.c }

// Warnings returns what the episode had to work around (e.g. an empty abnormal mask).
func (e *Episode) Warnings() []string { return append([]string(nil), e.warnings...) }

// AbnormalMasks returns the defect patch masks in use, one per abnormal reference
// (after the empty-mask fallback).
func (e *Episode) AbnormalMasks() [][]bool { return e.masks }

// PositionCode returns the position code of the abnormal references' keys, [a·N, C]
// (nil for a = 0).
func (e *Episode) PositionCode() *tensor.Dense {
	if e.pos == nil {
		return nil
	}
	return tensor.FromData(append([]float32(nil), e.pos...), len(e.pos)/e.c, e.c)
}

// AbnormalDeviations downloads the NVE-denoised abnormal reference features d^a
// [a·N, C] (nil for a = 0).
func (e *Episode) AbnormalDeviations() (*tensor.Dense, error) { return e.download(e.abnNVE) }

// DeviationVectors downloads T* [M, C] (nil for a = 0).
func (e *Episode) DeviationVectors() (*tensor.Dense, error) { return e.download(e.tstar) }

func (e *Episode) download(t kernels.Tensor) (*tensor.Dense, error) {
	if t == nil {
		return nil, nil
	}
	d, err := e.m.be.Download(t)
	if err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	return tensor.FromData(d, t.Shape()...), nil
}

// Close frees the episode's backend tensors.
func (e *Episode) Close() {
	be := e.m.be
	for _, t := range []*kernels.Tensor{&e.normals, &e.abnNVE, &e.tstar, &e.vals, &e.idx, &e.dev, &e.sa} {
		if *t != nil {
			be.Free(*t)
			*t = nil
		}
	}
}

// Result is the head's output for one query, on the G×G patch grid (row-major).
type Result struct {
	Grid           int
	NormalScore    []float32 // s_n
	DeviationScore []float32 // s_a (1 − s_n when there are no abnormal references)
	Map            []float32 // A = (s_a + 1 − s_n)/2
	ImageScore     float32   // mean of the top max(1, ⌊0.01·N⌋) values of A
	Warnings       []string  // the episode's warnings
}

// ImageLogits returns [1 − score, score], the two image-level logits of the authors' model.
func (r *Result) ImageLogits() [2]float32 { return [2]float32{1 - r.ImageScore, r.ImageScore} }

// PixelLogits returns [s_n; s_a] up-sampled to side×side (2 × side²) by the project's
// one bilinear up-sampler, imaging.UpsampleBilinear (PyTorch's, in float32).
func (r *Result) PixelLogits(side int) [2][]float32 {
	return [2][]float32{
		imaging.UpsampleBilinear(r.NormalScore, r.Grid, r.Grid, side, side),
		imaging.UpsampleBilinear(r.DeviationScore, r.Grid, r.Grid, side, side),
	}
}

// Upsample returns the anomaly map A resized to h×w by imaging.UpsampleBilinear (for
// display or evaluation at the image size).
func (r *Result) Upsample(h, w int) []float32 {
	return imaging.UpsampleBilinear(r.Map, r.Grid, r.Grid, h, w)
}

// Score runs the head on one query's patch features [N, C] (same grid and width as the
// references).
func (e *Episode) Score(q *tensor.Dense) (*Result, error) {
	if q != nil && len(q.Shape) == 2 && q.Shape[0] != e.g*e.g {
		if g, err := gridOf("query", q.Shape[0]); err == nil {
			return nil, fmt.Errorf("head: query is on a %d×%d grid, the references on %d×%d", g, g, e.g, e.g)
		}
		return nil, fmt.Errorf("head: query has %d patches, the references %d (grid %d×%d)", q.Shape[0], e.g*e.g, e.g, e.g)
	}
	if err := checkFeatures("query", q, e.c); err != nil {
		return nil, err
	}
	be := e.m.be
	n := e.g * e.g
	if e.vals == nil {
		e.vals, e.idx = be.Zeros(n, e.k), be.Zeros(n, e.k)
		if e.tstar != nil {
			e.dev, e.sa = be.Zeros(n, e.c), be.Zeros(n)
		}
	}
	qt := be.Upload(q.Data, n, e.c)
	defer be.Free(qt)
	be.CosineTopK(e.vals, e.idx, qt, e.normals, e.k)
	var sa []float32
	if e.tstar != nil {
		be.NVE(e.dev, qt, e.normals, e.vals, e.idx, e.r, e.m.cfg.Alpha)
		be.Projection(e.sa, e.dev, e.tstar)
		var err error
		if sa, err = be.Download(e.sa); err != nil {
			return nil, fmt.Errorf("head: %w", err)
		}
	}
	vals, err := be.Download(e.vals)
	if err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	r := &Result{Grid: e.g, NormalScore: make([]float32, n), Map: make([]float32, n), Warnings: e.Warnings()}
	for i := range r.NormalScore {
		r.NormalScore[i] = (1 + vals[i*e.k]) / 2
	}
	if sa == nil { // a = 0: s_a = 1 − s_n
		sa = make([]float32, n)
		for i, s := range r.NormalScore {
			sa[i] = 1 - s
		}
	}
	r.DeviationScore = sa
	for i := range r.Map {
		r.Map[i] = (sa[i] + 1 - r.NormalScore[i]) / 2
	}
	r.ImageScore = TopMean(r.Map, max(1, n/100))
	return r, nil
}

// TopMean is the mean of the cnt largest values of a.
func TopMean(a []float32, cnt int) float32 {
	s := append([]float32(nil), a...)
	sort.Slice(s, func(i, j int) bool { return s[i] > s[j] })
	var sum float64
	for _, v := range s[:cnt] {
		sum += float64(v)
	}
	return float32(sum / float64(cnt))
}

// Deviations returns the NVE-denoised deviations d [N, C] of a query's patch features
// against the episode's normal patches (what Score projects onto T*).
func (e *Episode) Deviations(q *tensor.Dense) (*tensor.Dense, error) {
	if err := checkFeatures("query", q, e.c); err != nil {
		return nil, err
	}
	be := e.m.be
	rows := q.Shape[0]
	qt := be.Upload(q.Data, rows, e.c)
	defer be.Free(qt)
	k := min(e.m.cfg.TopK, kernels.Rows(e.normals)) // e.k is 1 in normal-only episodes
	r := min(e.m.cfg.TopR, k)
	vals, idx, dst := be.Zeros(rows, k), be.Zeros(rows, k), be.Zeros(rows, e.c)
	defer be.Free(vals)
	defer be.Free(idx)
	defer be.Free(dst)
	be.CosineTopK(vals, idx, qt, e.normals, k)
	be.NVE(dst, qt, e.normals, vals, idx, r, e.m.cfg.Alpha)
	return e.download(dst)
}
