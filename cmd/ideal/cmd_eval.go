package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/featcache"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/internal/atomicfile"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/metrics"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/results"
	"github.com/ideal-fsad/ideal/tensor"
)

func init() {
	register("eval", "evaluate IDEAL (or the normal-only baseline) on a data set, every class", runEval)
}

const evalUsage = `--data ROOT --backbone FILE --out DIR [--format mvtec|visa|mpdd|btad|folder] [--head FILE]
       [--refs REFROOT] [--n-shot 1] [--a-shot 1] [--setting general|hard] [--size 448]
       [--classes a,b] [--seed N] [--backend cpu] [--cache DIR] [--save-maps] [--overlays 4]
       [--stop-on-error]

Runs one episode per class (references drawn with --seed, or the fixed ones of --refs),
scores every query and prints I-AUROC, I-AP, I-F1max, P-AUROC, P-F1max and AU-PRO@0.3
per class and their mean. --a-shot > 0 needs --head; --a-shot 0 (or no --head with
--a-shot 0) is the normal-only baseline. The pixel map of a query is A up-sampled
bilinearly to S×S and smoothed with a Gaussian of σ = 4 (spec §7); it is compared
with the mask resized to S×S (nearest). Writes DIR/metrics.json, DIR/metrics.csv,
DIR/scores.csv (class, path, label, defect type, image score) and a few heatmap
overlays per class under DIR/overlays. --save-maps writes the smoothed S×S maps as
float32 TIFFs in DIR/maps/<class>/test/<type>/<name>.tiff, the layout 'ideal metrics
--maps' reads (it gives the same numbers when the images are S×S; otherwise it needs
--resize and evaluates at the ground truth's size). DIR/view.json and the G×G maps A,
s_n and s_a of every query (DIR/view/<class>/<type>/<name>.maps.safetensors) let
'ideal-view DIR' open the run. Backbone features are cached in --cache (default
DIR/cache) by image content, size and backbone file, so a second run with another head
or shot count skips the backbone.
A bad image (unreadable or corrupt, an anomalous image without a usable mask, features
or maps that are not finite) is reported on stderr and in metrics.json "skipped" with
its path and the reason, and left out; a class whose references are bad is left out as
a whole. --stop-on-error stops at the first bad image instead (exit status 1). The
outputs are rewritten (atomically) after every class. Interrupt (Ctrl-C, SIGTERM) stops
after the current image, writes the finished classes and exits with status 130; a
second interrupt exits at once. Rerun the same command to resume: the features computed
before the interrupt come from the cache.`

// evalSigma is the σ of the Gaussian smoothing of the pixel maps (spec §7).
const evalSigma = 4

type evalOptions struct {
	root, format, backbone, headPath, refs, setting, backend, out, cache string
	nShot, aShot, size, overlays                                         int
	classes                                                              []string
	seed                                                                 uint64
	saveMaps, quiet, stopOnError                                         bool
	// interrupted reports a request to stop (SIGINT); nil: never. It is asked once
	// per class and once per query image.
	interrupted func() bool
}

// evalFeaturesHook, when set (by tests only), sees the features the backbone
// computed for each image before they are checked and cached.
var evalFeaturesHook func(path string, features *tensor.Dense)

// evalReport is DIR/metrics.json.
type evalReport struct {
	Data       string                `json:"data"`
	Format     string                `json:"format"`
	Backbone   string                `json:"backbone"`
	BackboneID string                `json:"backbone_sha256"`
	Head       string                `json:"head"` // "" for normal-only
	Mode       string                `json:"mode"`
	NShot      int                   `json:"n_shot"`
	AShot      int                   `json:"a_shot"`
	Setting    string                `json:"setting"`
	Size       int                   `json:"size"`
	Seed       uint64                `json:"seed"`
	Refs       string                `json:"refs,omitempty"`
	PixelMaps  string                `json:"pixel_maps"`
	ProLimit   float64               `json:"pro_limit"`
	Episodes   []string              `json:"episodes"`
	Skipped    []string              `json:"skipped,omitempty"` // images left out, with the reason
	Warnings   []string              `json:"warnings,omitempty"`
	CacheHits  int                   `json:"cache_hits"`
	CacheMiss  int                   `json:"cache_misses"`
	Seconds    float64               `json:"seconds"`
	Classes    []metrics.ClassResult `json:"classes"`
	Mean       metrics.MeanResult    `json:"mean"`
}

// evalScore is one row of scores.csv.
type evalScore struct {
	class, path, defect string
	anomalous           bool
	score               float32
}

func parseEvalFlags(args []string) (evalOptions, error) {
	fs := newFlagSet("eval", evalUsage)
	var o evalOptions
	fs.StringVar(&o.root, "data", "", "data set root folder (required)")
	fs.StringVar(&o.format, "format", data.FormatMVTec, "data set layout: "+strings.Join(data.Formats, ", "))
	fs.StringVar(&o.backbone, "backbone", "", "DINOv2 weights (required)")
	fs.StringVar(&o.headPath, "head", "", "IDE head weights (needed when --a-shot > 0)")
	fs.StringVar(&o.refs, "refs", "", "fixed reference-set root (REFROOT/<dataset>/<class>/{normal,abnormal})")
	fs.IntVar(&o.nShot, "n-shot", 1, "normal references per class")
	fs.IntVar(&o.aShot, "a-shot", 1, "abnormal references per class (0: normal-only baseline)")
	fs.StringVar(&o.setting, "setting", string(data.General), "general or hard")
	fs.IntVar(&o.size, "size", 448, "input side S in pixels (a multiple of the patch size)")
	classes := fs.String("classes", "", "comma-separated classes (default all)")
	fs.StringVar(&o.backend, "backend", "cpu", "compute backend: "+backendNames)
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the reference draw")
	fs.StringVar(&o.out, "out", "", "output folder (required)")
	fs.StringVar(&o.cache, "cache", "", "feature cache folder (default OUT/cache)")
	fs.BoolVar(&o.saveMaps, "save-maps", false, "write the smoothed S×S maps under OUT/maps (official MVTec layout)")
	fs.IntVar(&o.overlays, "overlays", 4, "heatmap overlays written per class: N−1 anomalous queries and 1 normal one (0: none)")
	fs.BoolVar(&o.quiet, "q", false, "no progress on stderr")
	fs.BoolVar(&o.stopOnError, "stop-on-error", false, "stop at the first bad image (after writing the finished classes) instead of leaving it out")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, usageErrorf("unexpected arguments %q", fs.Args())
	case o.root == "" || o.backbone == "" || o.out == "":
		return o, usageErrorf("--data, --backbone and --out are required")
	case o.nShot < 0 || o.aShot < 0 || o.nShot+o.aShot == 0:
		return o, usageErrorf("--n-shot %d, --a-shot %d: need non-negative shots, not both 0", o.nShot, o.aShot)
	case o.aShot > 0 && o.headPath == "":
		return o, usageErrorf("--a-shot %d needs --head (the IDE weights); use --a-shot 0 for the normal-only baseline", o.aShot)
	case o.size <= 0:
		return o, usageErrorf("--size %d must be positive", o.size)
	case o.overlays < 0:
		return o, usageErrorf("--overlays %d must be ≥ 0", o.overlays)
	}
	o.classes = splitList(*classes)
	if o.cache == "" {
		o.cache = filepath.Join(o.out, "cache")
	}
	return o, nil
}

func runEval(args []string) error {
	o, err := parseEvalFlags(args)
	if err != nil {
		return err
	}
	ctx, release := watchInterrupt("eval", "the current image", func() { removeTempFiles(o.out, o.cache) })
	o.interrupted = func() bool { return ctx.Err() != nil }
	defer release()
	return evaluate(o, os.Stdout, os.Stderr)
}

// evalFeatures computes image features through the cache, loading the backbone on
// the first miss only.
type evalFeatures struct {
	be       kernels.Backend
	path     string
	size     int
	cache    *featcache.Cache
	backbone *dinov2.Model
	hits     int
	misses   int
	warn     func(string)
}

func (f *evalFeatures) get(path string) (*featcache.Entry, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key := f.cache.Key(raw, f.size)
	e, err := f.cache.Get(key)
	if err != nil {
		f.warn(fmt.Sprintf("%v; recomputing it", err))
	}
	if e != nil && !allFinite(e.Features.Data) {
		f.warn(fmt.Sprintf("featcache: the entry of %s holds non-finite features; recomputing it", path))
		e = nil
	}
	if e != nil {
		f.hits++
		return e, nil
	}
	img, err := imaging.DecodeRGB(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.backbone == nil {
		m, err := loadBackbone(f.path, f.size, dinov2.Options{})
		if err != nil {
			return nil, err
		}
		f.backbone = m
	}
	feats, err := f.backbone.Features(f.be, imaging.PreprocessRGB(img, f.size), f.size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if evalFeaturesHook != nil {
		evalFeaturesHook(path, feats)
	}
	f.misses++
	if !allFinite(feats.Data) {
		return nil, fmt.Errorf("%s: the backbone's features are not finite (NaN or Inf)", path)
	}
	e = &featcache.Entry{Features: feats, W: img.W, H: img.H}
	if err := f.cache.Put(key, e); err != nil {
		f.warn(err.Error())
	}
	return e, nil
}

// allFinite reports whether no value is NaN or ±Inf.
func allFinite(v []float32) bool { return tensor.NonFinite(v) < 0 }

// gridOf returns the side G of an [N, C] feature grid and the patch size S/G.
func gridOf(t *tensor.Dense, size int) (g, patch int, err error) {
	g = int(math.Round(math.Sqrt(float64(t.Shape[0]))))
	if g*g != t.Shape[0] || size%g != 0 {
		return 0, 0, fmt.Errorf("eval: %d feature rows do not form a grid for size %d", t.Shape[0], size)
	}
	return g, size / g, nil
}

// maskAt reads a mask, checks it against its image's size and resizes it to S×S.
func maskAt(path string, imgW, imgH, size int) (*imaging.Mask, error) {
	m, err := imaging.ReadMask(path)
	if err != nil {
		return nil, err
	}
	if err := imaging.CheckMaskSize(imgW, imgH, m.W, m.H); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m.ResizeNearest(size, size), nil
}

func evaluate(o evalOptions, stdout, stderr io.Writer) error {
	start := time.Now()
	setting, err := data.ParseSetting(o.setting)
	if err != nil {
		return usageErrorf("%v", err)
	}
	ds, err := data.Open(o.root, o.format, o.classes)
	if err != nil {
		return err
	}
	var refs map[string]*data.Refs
	if o.refs != "" {
		if refs, err = data.ReadRefSet(o.refs, o.format); err != nil {
			return err
		}
	}
	eps, err := data.Episodes(ds, refs, data.EpisodeOptions{NShot: o.nShot, AShot: o.aShot, Setting: setting, Seed: o.seed})
	if err != nil {
		return err
	}
	var hw *head.Weights
	if o.headPath != "" {
		if hw, err = head.ReadFile(o.headPath, ""); err != nil {
			return err
		}
	}
	bbID, err := featcache.BackboneID(o.backbone)
	if err != nil {
		return err
	}
	be, err := openBackend(o.backend)
	if err != nil {
		return err
	}
	defer be.Close()
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("eval: %w", err)
	}

	rep := evalReport{Data: o.root, Format: o.format, Backbone: o.backbone, BackboneID: bbID, Head: o.headPath,
		NShot: o.nShot, AShot: o.aShot, Setting: string(setting), Size: o.size, Seed: o.seed, Refs: o.refs,
		PixelMaps: fmt.Sprintf("A up-sampled bilinearly to %d×%d, Gaussian σ=%d (truncate 4σ, reflect); masks resized to %d×%d (nearest)", o.size, o.size, evalSigma, o.size, o.size),
		ProLimit:  0.3, Mode: "IDEAL"}
	if o.aShot == 0 {
		rep.Mode = "normal-only"
	}
	warn := func(s string) {
		rep.Warnings = append(rep.Warnings, s)
		fmt.Fprintf(stderr, "warning: %s\n", s)
	}
	// skip reports a bad image; with --stop-on-error it returns the error that ends the run.
	skip := func(path string, err error) error {
		reason := strings.TrimPrefix(err.Error(), path+": ") // the path once is enough
		rep.Skipped = append(rep.Skipped, path+": "+reason)
		fmt.Fprintf(stderr, "skipped %s: %s\n", path, reason)
		if o.stopOnError {
			return fmt.Errorf("eval: stopped at the first bad image (--stop-on-error): %s: %s", path, reason)
		}
		return nil
	}
	feats := &evalFeatures{be: be, path: o.backbone, size: o.size, cache: featcache.New(o.cache, bbID), warn: warn}
	model := head.New(be, hw)
	defer model.Close()
	var scores []evalScore
	view := &results.Manifest{Tool: "ideal eval", Backbone: o.backbone, Head: o.headPath, Size: o.size, Cache: o.cache}
	// stop ends the run early (--stop-on-error, interrupt): the outputs then hold the
	// classes finished so far.
	stop := func(cause error) error {
		rep.Mean = metrics.Mean(rep.Classes)
		rep.CacheHits, rep.CacheMiss = feats.hits, feats.misses
		rep.Seconds = time.Since(start).Seconds()
		if err := writeEvalOutputs(o.out, &rep, scores, view); err != nil {
			return err
		}
		if errors.Is(cause, errInterrupted) {
			return fmt.Errorf("%w after %d of %d classes: %s holds the finished ones; rerun the same command to resume "+
				"(the %d features computed so far are in the cache %s and are not computed again)",
				cause, len(rep.Classes), len(eps), o.out, feats.misses, o.cache)
		}
		return fmt.Errorf("%w (the outputs in %s hold the %d of %d classes finished before)", cause, o.out, len(rep.Classes), len(eps))
	}
	for _, p := range ds.Problems() {
		if err := skip(p.Path, p.Err); err != nil {
			return stop(err)
		}
	}

	total, removed := 0, 0
	for _, ep := range eps {
		total += len(ep.Queries)
		removed += ep.Removed
	}
	var bar *progressbar.ProgressBar
	if !o.quiet {
		bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	acc := metrics.NewPixelAccumulator(0)
	for ci, ep := range eps {
		if o.interrupted != nil && o.interrupted() {
			return stop(errInterrupted)
		}
		if bar != nil {
			bar.Describe(fmt.Sprintf("class %d/%d %s", ci+1, len(eps), ep.Class))
		}
		rep.Episodes = append(rep.Episodes, ep.Describe())
		r, cs, vep, err := evalClass(o, ep, feats, model, acc, bar, warn, skip)
		var bad *classError
		if errors.As(err, &bad) {
			// A class whose references cannot be used is left out; the others go on.
			if err := skip("class "+ep.Class, bad.err); err != nil {
				return stop(err)
			}
			if bar != nil {
				bar.Add(len(ep.Queries))
			}
			continue
		}
		var stopped *stopError
		if errors.As(err, &stopped) {
			return stop(stopped.err)
		}
		if err != nil {
			return err
		}
		rep.Classes = append(rep.Classes, r)
		scores = append(scores, cs...)
		if len(vep.Queries) > 0 {
			view.Episodes = append(view.Episodes, vep)
		}
		// Write what is done after every class, so that a later failure loses nothing.
		rep.Mean = metrics.Mean(rep.Classes)
		if err := writeEvalOutputs(o.out, &rep, scores, view); err != nil {
			return err
		}
	}
	if len(rep.Classes) == 0 {
		return fmt.Errorf("eval: no class could be evaluated: %s", strings.Join(rep.Skipped, "; "))
	}
	if bar != nil {
		bar.Finish()
	}
	rep.Mean = metrics.Mean(rep.Classes)
	rep.CacheHits, rep.CacheMiss = feats.hits, feats.misses
	rep.Seconds = time.Since(start).Seconds()

	if err := writeEvalOutputs(o.out, &rep, scores, view); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s, %d-shot normal + %d-shot abnormal (%s setting), S = %d, backbone %s\n",
		rep.Mode, o.nShot, o.aShot, setting, o.size, o.backbone)
	printMetricsTable(stdout, &metricsReport{ProLimit: rep.ProLimit, Classes: rep.Classes, Mean: rep.Mean,
		ImageScore: "the head's (mean of the top 1% of A)",
		MapFiles:   map[mapio.Source]int{mapio.Source(rep.PixelMaps): len(scores)}})
	fmt.Fprintf(stdout, "features: %d from the cache, %d computed (cache %s); %.1fs\n", feats.hits, feats.misses, o.cache, rep.Seconds)
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(stdout, "%d images left out (see metrics.json), e.g. %s\n", len(rep.Skipped), rep.Skipped[0])
	}
	fmt.Fprintf(stdout, "wrote %s, %s, %s, %s (ideal-view %s)", filepath.Join(o.out, "metrics.json"), filepath.Join(o.out, "metrics.csv"),
		filepath.Join(o.out, "scores.csv"), filepath.Join(o.out, results.FileName), o.out)
	if o.overlays > 0 {
		fmt.Fprintf(stdout, ", overlays in %s (colours span each class's range of A)", filepath.Join(o.out, "overlays"))
	}
	fmt.Fprintln(stdout)
	if o.saveMaps {
		if removed > 0 {
			fmt.Fprintf(stdout, "note: %d test images are not queries (references, or left out by the hard setting) and have no map or score: 'ideal metrics' leaves them out with --skip-missing\n", removed)
		}
		skip := ""
		if removed > 0 {
			skip = " --skip-missing"
		}
		fmt.Fprintf(stdout, "maps (after smoothing, %d×%d float32 TIFF) in %s: ideal metrics --data %s --format %s --maps %s --scores %s%s\n",
			o.size, o.size, filepath.Join(o.out, "maps"), o.root, o.format, filepath.Join(o.out, "maps"), filepath.Join(o.out, "scores.csv"), skip)
	}
	return nil
}

// evalClass runs one class's episode and returns its metrics, per-query scores and
// its episode of the results manifest (the maps files of its queries written).
func evalClass(o evalOptions, ep *data.Episode, feats *evalFeatures, model *head.Model, acc *metrics.PixelAccumulator,
	bar *progressbar.ProgressBar, warn func(string), skip func(string, error) error) (cr metrics.ClassResult, out []evalScore, vep results.Episode, err error) {
	vep = results.Episode{Class: ep.Class, Normal: []string{}}
	var normals []*tensor.Dense
	for _, s := range ep.Normal {
		e, err := feats.get(s.Path)
		if err != nil {
			return cr, nil, vep, &classError{fmt.Errorf("normal reference %s: %w", s.Path, err)}
		}
		normals = append(normals, e.Features)
		vep.Normal = append(vep.Normal, s.Path)
	}
	var abn []head.Abnormal
	for _, s := range ep.Abnormal {
		e, err := feats.get(s.Path)
		if err != nil {
			return cr, nil, vep, &classError{fmt.Errorf("abnormal reference %s: %w", s.Path, err)}
		}
		_, patch, err := gridOf(e.Features, o.size)
		if err != nil {
			return cr, nil, vep, err
		}
		m, err := maskAt(s.MaskPath, e.W, e.H, o.size)
		if err != nil {
			return cr, nil, vep, &classError{fmt.Errorf("abnormal reference %s: %w", s.Path, err)}
		}
		abn = append(abn, head.Abnormal{Features: e.Features, Mask: imaging.PatchMask(m, patch)})
		vep.Abnormal = append(vep.Abnormal, results.Reference{Path: s.Path, Mask: s.MaskPath})
	}
	if hw := model.Weights(); hw != nil {
		for _, t := range append(normals, abnFeatures(abn)...) {
			if t.Shape[1] != hw.C() {
				return cr, nil, vep, fmt.Errorf("eval: the backbone's features are %d wide but the head expects %d (a head for another backbone?)", t.Shape[1], hw.C())
			}
		}
	}
	hep, err := model.NewEpisode(normals, abn)
	if err != nil {
		return cr, nil, vep, fmt.Errorf("eval: class %s: %w", ep.Class, err)
	}
	defer hep.Close()
	for _, w := range hep.Warnings() {
		warn(fmt.Sprintf("class %s: %s", ep.Class, w))
	}
	cmap, err := imaging.LookupColormap("jet")
	if err != nil {
		return cr, nil, vep, err
	}
	// bad reports a bad query image; with --stop-on-error the class ends there.
	bad := func(path string, err error) error {
		if err := skip(path, err); err != nil {
			return &stopError{err}
		}
		return nil
	}

	acc.Reset()
	mapsUsed := map[string]int{}
	var imgScores []float64
	var labels []bool
	// Overlays: up to o.overlays−1 anomalous queries and one normal one per class.
	nAbn, nNorm := 0, 0
	var shown []overlayJob
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1)) // range of A over the class's queries
	for _, s := range ep.Queries {
		if o.interrupted != nil && o.interrupted() {
			return cr, nil, vep, &stopError{errInterrupted}
		}
		if bar != nil {
			bar.Add(1)
		}
		e, err := feats.get(s.Path)
		if err != nil {
			if err := bad(s.Path, err); err != nil {
				return cr, nil, vep, err
			}
			continue
		}
		var mask []bool
		if s.Anomalous {
			m, err := maskAt(s.MaskPath, e.W, e.H, o.size)
			if err != nil {
				if err := bad(s.Path, err); err != nil {
					return cr, nil, vep, err
				}
				continue
			}
			mask = m.Pix
		}
		res, err := hep.Score(e.Features)
		if err == nil && !(allFinite(res.Map) && allFinite(res.NormalScore) && allFinite(res.DeviationScore) && allFinite([]float32{res.ImageScore})) {
			err = errors.New("its anomaly maps are not finite (NaN or Inf)")
		}
		if err != nil {
			if err := bad(s.Path, err); err != nil {
				return cr, nil, vep, err
			}
			continue
		}
		for _, v := range res.Map {
			lo, hi = min(lo, v), max(hi, v)
		}
		pix := imaging.GaussianBlur(imaging.UpsampleBilinear(res.Map, res.Grid, res.Grid, o.size, o.size), o.size, o.size, evalSigma)
		if err := acc.Add(o.size, o.size, pix, mask); err != nil {
			if err := bad(s.Path, err); err != nil {
				return cr, nil, vep, err
			}
			continue
		}
		out = append(out, evalScore{class: ep.Class, path: s.Path, defect: s.DefectType, anomalous: s.Anomalous, score: res.ImageScore})
		imgScores = append(imgScores, float64(res.ImageScore))
		labels = append(labels, s.Anomalous)
		mapsName := filepath.Join(ep.Class, s.DefectType, strings.TrimSuffix(filepath.Base(s.Path), filepath.Ext(s.Path)))
		if mapsUsed[mapsName]++; mapsUsed[mapsName] > 1 { // 000.png and 000.jpg side by side
			mapsName = fmt.Sprintf("%s_%d", mapsName, mapsUsed[mapsName])
		}
		q := results.Query{Path: s.Path, ImageScore: res.ImageScore, Grid: res.Grid,
			Maps: filepath.Join(o.out, "view", mapsName+results.MapsExt)}
		if s.Anomalous {
			q.Label, q.Mask = 1, s.MaskPath
		}
		if err := os.MkdirAll(filepath.Dir(q.Maps), 0o755); err != nil {
			return cr, nil, vep, fmt.Errorf("eval: %w", err)
		}
		if err := results.WriteMaps(q.Maps, res.Grid, res.Map, res.NormalScore, res.DeviationScore); err != nil {
			return cr, nil, vep, err
		}
		vep.Queries = append(vep.Queries, q)
		if o.saveMaps {
			p := filepath.Join(o.out, "maps", mapio.RelPath(ep.Class, s.DefectType, s.Path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return cr, nil, vep, fmt.Errorf("eval: %w", err)
			}
			if err := mapio.Write(p, &mapio.Map{W: o.size, H: o.size, Pix: pix}); err != nil {
				return cr, nil, vep, err
			}
		}
		if s.Anomalous && nAbn < o.overlays-1 || !s.Anomalous && nNorm < 1 && o.overlays > 0 {
			shown = append(shown, overlayJob{s, res})
			if s.Anomalous {
				nAbn++
			} else {
				nNorm++
			}
		}
	}
	for _, j := range shown {
		if err := writeEvalOverlay(o, ep.Class, j, lo, hi, cmap); err != nil {
			warn(err.Error())
		}
	}
	img, err := metrics.ImageMetrics(imgScores, labels)
	if err != nil {
		return cr, nil, vep, fmt.Errorf("eval: class %s: %w", ep.Class, err)
	}
	pr, err := acc.Result(0.3)
	if err != nil {
		return cr, nil, vep, fmt.Errorf("eval: class %s: %w", ep.Class, err)
	}
	return metrics.NewClassResult(ep.Class, img, pr), out, vep, nil
}

// classError is a problem with a class's references: the class is left out.
type classError struct{ err error }

func (e *classError) Error() string { return e.err.Error() }

// stopError ends the run in the middle of a class (--stop-on-error, interrupt): the
// class is dropped and the finished ones are written.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

func abnFeatures(abn []head.Abnormal) []*tensor.Dense {
	var ts []*tensor.Dense
	for _, a := range abn {
		ts = append(ts, a.Features)
	}
	return ts
}

// overlayJob is a query whose overlay is written once the class's range of A is known.
type overlayJob struct {
	s   data.Sample
	res *head.Result
}

// writeEvalOverlay writes OUT/overlays/<class>/<type>_<name>.png: the map A, its
// colours spanning [lo, hi] (the class's range of A), over the image at its original size.
func writeEvalOverlay(o evalOptions, class string, j overlayJob, lo, hi float32, cmap imaging.Colormap) error {
	img, err := imaging.LoadRGB(j.s.Path)
	if err != nil {
		return err
	}
	grid := make([]float32, len(j.res.Map))
	for i, v := range j.res.Map {
		grid[i] = (v - lo) / max(hi-lo, 1e-12)
	}
	name := j.s.DefectType + "_" + strings.TrimSuffix(filepath.Base(j.s.Path), filepath.Ext(j.s.Path)) + ".png"
	p := filepath.Join(o.out, "overlays", class, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return imaging.WritePNG(p, imaging.HeatmapOverlay(img, grid, j.res.Grid, j.res.Grid, cmap, 0.5))
}

func fmtMetric(v metrics.Value) string {
	if !v.Defined() {
		return ""
	}
	return strconv.FormatFloat(float64(v), 'f', 6, 64)
}

// writeEvalOutputs writes metrics.json, metrics.csv, scores.csv and (when a class is
// finished) view.json into dir, each atomically.
func writeEvalOutputs(dir string, rep *evalReport, scores []evalScore, view *results.Manifest) error {
	outputsMu.Lock()
	defer outputsMu.Unlock()
	err := atomicfile.Write(filepath.Join(dir, "metrics.json"), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	})
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	err = atomicfile.Write(filepath.Join(dir, "metrics.csv"), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write(append([]string{"class"}, metrics.Names[:]...))
		row := func(name string, vals [6]metrics.Value) {
			rec := []string{name}
			for _, v := range vals {
				rec = append(rec, fmtMetric(v))
			}
			cw.Write(rec)
		}
		for _, c := range rep.Classes {
			row(c.Class, c.Values())
		}
		row("Mean", rep.Mean.Values())
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	err = atomicfile.Write(filepath.Join(dir, "scores.csv"), func(w io.Writer) error {
		cw := csv.NewWriter(w)
		cw.Write([]string{"class", "path", "label", "defect type", "image score"})
		for _, s := range scores {
			label := "0"
			if s.anomalous {
				label = "1"
			}
			cw.Write([]string{s.class, s.path, label, s.defect, strconv.FormatFloat(float64(s.score), 'g', -1, 32)})
		}
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if len(view.Episodes) == 0 {
		// Nothing to view yet: no manifest of an earlier run may stay beside these outputs.
		if err := os.Remove(filepath.Join(dir, results.FileName)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("eval: %w", err)
		}
		return nil
	}
	return results.Write(dir, view)
}
