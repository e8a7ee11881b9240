package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/gpu"
	"github.com/ideal-fsad/ideal/internal/atomicfile"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

func init() {
	register("bench", "time the kernels and the model at ViT-S/14 shapes on each backend", runBench)
}

const benchUsage = "[--backend cpu,gpu] [--size 448] [--reps N] [--json FILE]"

// ViT-S/14 and IDEAL head dimensions (spec): width, heads, MLP hidden width, patch,
// trained position grid, depth; the head's neighbourhood and deviation vectors.
const (
	benchWidth   = 384
	benchHeads   = 6
	benchHidden  = 1536
	benchPatch   = 14
	benchPosGrid = 37
	benchDepth   = 12
)

// benchEntry is one timed kernel or stage on one backend, as written by --json.
type benchEntry struct {
	Name      string  `json:"name"`
	Backend   string  `json:"backend"`
	MsMedian  float64 `json:"ms_median"`
	GFLOPs    float64 `json:"gflops"`      // effective: the case's nominal FLOP count / median time
	MaxAbsErr float64 `json:"max_abs_err"` // against the CPU backend's result on the same inputs
}

// benchReport is the --json document.
type benchReport struct {
	Size    int          `json:"size"`
	Reps    int          `json:"reps"`
	Entries []benchEntry `json:"entries"`
}

// benchCase is one kernel or stage. setup uploads its inputs to a backend (the same
// inputs for every backend) and returns run, which does the work once and waits for
// the backend, returning the result as host data when full is set, and a cleanup.
// A kernel's timed (not full) run waits by reading back one row copied from its
// output, so that the timing is not dominated by a large read-back; a stage always
// reads back its result, as its users do.
type benchCase struct {
	name  string
	flop  float64 // nominal FLOPs of one run (see newBenchCases)
	setup func(be kernels.Backend) (run func(full bool) ([]float32, error), cleanup func(), err error)
}

func runBench(args []string) error {
	fs := newFlagSet("bench", benchUsage)
	backendList := fs.String("backend", "cpu,gpu", "comma-separated backends to time: cpu, gpu, reference (gpu is skipped, with the reason, when no OpenGL 4.3 context can be had)")
	size := fs.Int("size", 448, "input side S in pixels, a positive multiple of 14 (tokens (S/14)²+1, head grid S/14)")
	reps := fs.Int("reps", 5, "timed runs per case after one warm-up run; the median is reported")
	jsonPath := fs.String("json", "", "also write the results as JSON to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	if *size < benchPatch || *size%benchPatch != 0 {
		return usageErrorf("--size %d is not a positive multiple of %d", *size, benchPatch)
	}
	if *reps < 1 {
		return usageErrorf("--reps %d: want at least 1", *reps)
	}
	var names []string
	for n := range strings.SplitSeq(*backendList, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n != "cpu" && n != "gpu" && n != "reference":
			return usageErrorf("--backend: unknown backend %q (want cpu, gpu or reference)", n)
		case slices.Contains(names, n):
			return usageErrorf("--backend: %q given twice", n)
		}
		names = append(names, n)
	}

	// The CPU backend's results are the yardstick, so cpu runs first; when it is not
	// timed it still runs each case once, untimed.
	if i := slices.Index(names, "cpu"); i > 0 {
		names = append([]string{"cpu"}, slices.Delete(names, i, i+1)...)
	}
	cases, err := newBenchCases(*size)
	if err != nil {
		return err
	}
	var cpuRef map[string][]float32
	if names[0] != "cpu" {
		if _, cpuRef, err = benchBackend(cpu.New(), cases, 0, nil); err != nil {
			return err
		}
	}
	var entries []benchEntry
	for _, n := range names {
		var be kernels.Backend
		switch n {
		case "cpu":
			be = cpu.New()
		case "gpu":
			be, err = gpu.New()
			if err != nil {
				fmt.Fprintf(os.Stderr, "gpu unavailable: %v; skipping it\n", err)
				continue
			}
		case "reference":
			be = kernels.NewReference()
		}
		es, outs, err := benchBackend(be, cases, *reps, cpuRef)
		if err != nil {
			return err
		}
		if n == "cpu" {
			cpuRef = outs
		}
		entries = append(entries, es...)
	}
	if len(entries) == 0 {
		return errors.New("bench: no backend could be timed")
	}
	writeBenchTable(os.Stdout, entries)
	if *jsonPath != "" {
		rep := benchReport{Size: *size, Reps: *reps, Entries: entries}
		err := atomicfile.Write(*jsonPath, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		})
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	return nil
}

// benchBackend runs every case on be (closing it at the end): one warm-up run whose
// result is kept and compared with ref (nil: be is the yardstick, error 0), then reps
// timed runs. It returns the entries (none when reps is 0) and the warm-up results.
func benchBackend(be kernels.Backend, cases []benchCase, reps int, ref map[string][]float32) (entries []benchEntry, outs map[string][]float32, err error) {
	defer func() {
		if cerr := be.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("bench: %s: %w", be.Name(), cerr)
		}
	}()
	outs = map[string][]float32{}
	for _, c := range cases {
		fmt.Fprintf(os.Stderr, "bench: %s %s\n", be.Name(), c.name)
		e, out, err := benchOne(be, c, reps)
		if err != nil {
			return nil, nil, fmt.Errorf("bench: %s on %s: %w", c.name, be.Name(), err)
		}
		outs[c.name] = out
		if reps == 0 {
			continue
		}
		if ref != nil {
			if e.MaxAbsErr, err = maxAbsErr(out, ref[c.name]); err != nil {
				return nil, nil, fmt.Errorf("bench: %s on %s: %w", c.name, be.Name(), err)
			}
		}
		entries = append(entries, e)
	}
	return entries, outs, nil
}

func benchOne(be kernels.Backend, c benchCase, reps int) (benchEntry, []float32, error) {
	run, cleanup, err := c.setup(be)
	if err != nil {
		return benchEntry{}, nil, err
	}
	defer cleanup()
	out, err := run(true)
	if err != nil {
		return benchEntry{}, nil, err
	}
	out = slices.Clone(out)
	times := make([]float64, reps)
	for i := range times {
		t0 := time.Now()
		if _, err := run(false); err != nil {
			return benchEntry{}, nil, err
		}
		times[i] = time.Since(t0).Seconds() * 1e3
	}
	e := benchEntry{Name: c.name, Backend: be.Name()}
	if reps > 0 {
		e.MsMedian = median(times)
		if c.flop > 0 && e.MsMedian > 0 {
			e.GFLOPs = c.flop / (e.MsMedian * 1e-3) / 1e9
		}
	}
	return e, out, nil
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// maxAbsErr is the largest |got − want|; a NaN anywhere makes it +Inf.
func maxAbsErr(got, want []float32) (float64, error) {
	if len(got) != len(want) {
		return 0, fmt.Errorf("%d output values, the CPU backend gave %d", len(got), len(want))
	}
	var m float64
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1), nil
		}
		m = max(m, d)
	}
	return m, nil
}

// writeBenchTable prints the entries with each one's speed-up over the CPU backend's
// entry of the same name ("-" for the CPU itself or when it was not timed).
func writeBenchTable(w io.Writer, entries []benchEntry) {
	cpuMs := map[string]float64{}
	for _, e := range entries {
		if strings.HasPrefix(e.Backend, "cpu") {
			cpuMs[e.Name] = e.MsMedian
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "name\tbackend\tms (median)\tGFLOP/s\tspeed-up vs cpu\tmax abs err\t")
	for _, e := range entries {
		speed := "-"
		if c, ok := cpuMs[e.Name]; ok && !strings.HasPrefix(e.Backend, "cpu") && e.MsMedian > 0 {
			speed = fmt.Sprintf("%.2fx", c/e.MsMedian)
		}
		gf := "-"
		if e.GFLOPs > 0 {
			gf = fmt.Sprintf("%.1f", e.GFLOPs)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%s\t%s\t%.3g\t\n", e.Name, e.Backend, e.MsMedian, gf, speed, e.MaxAbsErr)
	}
	tw.Flush()
}

func randSlice(rng *rand.Rand, n int, std float64) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(std * rng.NormFloat64())
	}
	return d
}

// uploads keeps the tensors a case allocates on one backend, to free them together.
type uploads struct {
	be kernels.Backend
	ts []kernels.Tensor
}

func (u *uploads) add(t kernels.Tensor) kernels.Tensor { u.ts = append(u.ts, t); return t }
func (u *uploads) up(d []float32, shape ...int) kernels.Tensor {
	return u.add(u.be.Upload(d, shape...))
}
func (u *uploads) free() {
	for _, t := range u.ts {
		u.be.Free(t)
	}
}

// newBenchCases returns the kernels at the ViT-S/14 shapes for an S×S input
// (T = (S/14)²+1 tokens, N = (S/14)² patches, C = 384, 6 heads, MLP 1536; the head
// with one normal and one abnormal reference), then the stages end to end: the
// backbone with random ViT-S/14 weights, the head scoring one query, and the whole
// query (both). Nominal FLOP counts: matmul 2·T·C·4C; attention 4·T²·C; layer norm
// 8 per value; patch embedding 2·N·C·3·14²; cosine top-k 2·N²·C; NVE
// N·(2kC + 2k²C + 4rC) (centre, Gram, erase; the eigen-solve not counted);
// projection 4·N·M·C; the head its normal-reference search 2·N²·C and projection; the
// backbone dinov2.Config.FLOPs.
func newBenchCases(size int) ([]benchCase, error) {
	g := size / benchPatch
	n := g * g
	t := n + 1
	c := benchWidth
	hcfg := head.DefaultConfig()
	k, r, m := min(hcfg.TopK, n), hcfg.TopR, head.DefaultVectors

	vit, err := dinov2.FromFile(randomViTS(1), dinov2.Options{Heads: benchHeads})
	if err != nil {
		return nil, fmt.Errorf("bench: random ViT-S/14: %w", err)
	}
	if err := vit.CheckSize(size); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	hw, err := head.Init(c, m, 1)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	rng := func(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0xbe9c)) }
	pixels := randSlice(rng(2), 3*size*size, 1)
	normal := tensor.FromData(randSlice(rng(3), n*c, 1), n, c)
	abnormal := tensor.FromData(randSlice(rng(4), n*c, 1), n, c)
	query := tensor.FromData(randSlice(rng(5), n*c, 1), n, c)
	mask := make([]bool, n) // a defect in the middle quarter of the grid
	for y := g / 4; y < g-g/4; y++ {
		for x := g / 4; x < g-g/4; x++ {
			mask[y*g+x] = true
		}
	}
	headFlop := 2*float64(n*n*c) + 4*float64(n*m*c)
	episode := func(be kernels.Backend) (*head.Model, *head.Episode, error) {
		hm := head.New(be, hw)
		ep, err := hm.NewEpisode([]*tensor.Dense{normal}, []head.Abnormal{{Features: abnormal, Mask: mask}})
		if err != nil {
			hm.Close()
			return nil, nil, err
		}
		return hm, ep, nil
	}
	scoreOut := func(res *head.Result) []float32 { return append(slices.Clone(res.Map), res.ImageScore) }

	// kernel builds a case from an op on uploaded inputs and its output tensor.
	kernel := func(name string, flop float64, seed uint64, op func(u *uploads, r *rand.Rand) (func(), kernels.Tensor)) benchCase {
		return benchCase{name: name, flop: flop, setup: func(be kernels.Backend) (func(bool) ([]float32, error), func(), error) {
			u := &uploads{be: be}
			do, out := op(u, rng(seed))
			probe := u.add(be.Zeros(1, kernels.Cols(out)))
			run := func(full bool) ([]float32, error) {
				do()
				if full {
					return be.Download(out)
				}
				be.CopyRows(probe, 0, out, kernels.Rows(out)-1, 1)
				_, err := be.Download(probe)
				return nil, err
			}
			return run, u.free, nil
		}}
	}
	cases := []benchCase{
		kernel("matmul", 2*float64(t*c*benchHidden), 10, func(u *uploads, r *rand.Rand) (func(), kernels.Tensor) {
			a := u.up(randSlice(r, t*c, 1), t, c)
			w := u.up(randSlice(r, benchHidden*c, 1/math.Sqrt(float64(c))), benchHidden, c)
			b := u.up(randSlice(r, benchHidden, 0.02), benchHidden)
			dst := u.add(u.be.Zeros(t, benchHidden))
			return func() { u.be.MatMul(dst, a, w, true, kernels.Epilogue{Bias: b, GELU: true}) }, dst
		}),
		kernel("attention", 4*float64(t*t*c), 11, func(u *uploads, r *rand.Rand) (func(), kernels.Tensor) {
			q := u.up(randSlice(r, t*c, 1), t, c)
			kk := u.up(randSlice(r, t*c, 1), t, c)
			v := u.up(randSlice(r, t*c, 1), t, c)
			dst := u.add(u.be.Zeros(t, c))
			scale := float32(1 / math.Sqrt(float64(c/benchHeads)))
			return func() { u.be.Attention(dst, q, kk, v, nil, benchHeads, scale) }, dst
		}),
		kernel("layernorm", 8*float64(t*c), 12, func(u *uploads, r *rand.Rand) (func(), kernels.Tensor) {
			x := u.up(randSlice(r, t*c, 1), t, c)
			gm := u.up(randSlice(r, c, 1), c)
			bt := u.up(randSlice(r, c, 1), c)
			dst := u.add(u.be.Zeros(t, c))
			return func() { u.be.LayerNorm(dst, x, gm, bt, 1e-6) }, dst
		}),
		kernel("patch_embed", 2*float64(n*c*3*benchPatch*benchPatch), 13, func(u *uploads, r *rand.Rand) (func(), kernels.Tensor) {
			img := u.up(randSlice(r, 3*size*size, 1), 3, size, size)
			w := u.up(randSlice(r, c*3*benchPatch*benchPatch, 1/math.Sqrt(3*benchPatch*benchPatch)), c, 3, benchPatch, benchPatch)
			b := u.up(randSlice(r, c, 0.02), c)
			cls := u.up(randSlice(r, c, 0.02), c)
			pos := u.up(randSlice(r, t*c, 0.02), t, c)
			dst := u.add(u.be.Zeros(t, c))
			return func() { u.be.PatchEmbed(dst, img, w, b, cls, pos, benchPatch) }, dst
		}),
		kernel("cosine_topk", 2*float64(n*n*c), 14, func(u *uploads, r *rand.Rand) (func(), kernels.Tensor) {
			a := u.up(randSlice(r, n*c, 1), n, c)
			b := u.up(randSlice(r, n*c, 1), n, c)
			vals, idx := u.add(u.be.Zeros(n, k)), u.add(u.be.Zeros(n, k))
			// The cosines are compared; the indices could differ on near-ties.
			return func() { u.be.CosineTopK(vals, idx, a, b, k) }, vals
		}),
		kernel("nve", float64(n)*float64(2*k*c+2*k*k*c+4*r*c), 15, func(u *uploads, rr *rand.Rand) (func(), kernels.Tensor) {
			f := u.up(randSlice(rr, n*c, 1), n, c)
			nb := u.up(randSlice(rr, n*c, 1), n, c)
			vals, idx := u.add(u.be.Zeros(n, k)), u.add(u.be.Zeros(n, k))
			u.be.CosineTopK(vals, idx, f, nb, k)
			dst := u.add(u.be.Zeros(n, c))
			return func() { u.be.NVE(dst, f, nb, vals, idx, r, hcfg.Alpha) }, dst
		}),
		kernel("projection", 4*float64(n*m*c), 16, func(u *uploads, r *rand.Rand) (func(), kernels.Tensor) {
			d := u.up(randSlice(r, n*c, 1), n, c)
			ts := u.up(randSlice(r, m*c, 1), m, c)
			dst := u.add(u.be.Zeros(n))
			return func() { u.be.Projection(dst, d, ts) }, dst
		}),
		{name: "backbone", flop: vit.FLOPs(size), setup: func(be kernels.Backend) (func(bool) ([]float32, error), func(), error) {
			run := func(bool) ([]float32, error) {
				f, err := vit.Features(be, pixels, size)
				if err != nil {
					return nil, err
				}
				return f.Data, nil
			}
			return run, func() { vit.Release(be) }, nil
		}},
		{name: "head", flop: headFlop, setup: func(be kernels.Backend) (func(bool) ([]float32, error), func(), error) {
			hm, ep, err := episode(be)
			if err != nil {
				return nil, nil, err
			}
			run := func(bool) ([]float32, error) {
				res, err := ep.Score(query)
				if err != nil {
					return nil, err
				}
				return scoreOut(res), nil
			}
			return run, func() { ep.Close(); hm.Close() }, nil
		}},
		{name: "query", flop: vit.FLOPs(size) + headFlop, setup: func(be kernels.Backend) (func(bool) ([]float32, error), func(), error) {
			hm, ep, err := episode(be)
			if err != nil {
				return nil, nil, err
			}
			run := func(bool) ([]float32, error) {
				f, err := vit.Features(be, pixels, size)
				if err != nil {
					return nil, err
				}
				res, err := ep.Score(f)
				if err != nil {
					return nil, err
				}
				return scoreOut(res), nil
			}
			return run, func() { ep.Close(); hm.Close(); vit.Release(be) }, nil
		}},
	}
	return cases, nil
}

// randomViTS returns random DINOv2 ViT-S/14 weights scaled like a trained network
// (dinov2.RandomTrainedLike).
func randomViTS(seed uint64) *weights.File {
	return &weights.File{Tensors: dinov2.RandomTrainedLike(benchWidth, benchDepth, benchPatch, benchPosGrid, 0, seed),
		Metadata: map[string]string{}}
}
