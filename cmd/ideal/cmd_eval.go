package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/eval"
	"github.com/ideal-fsad/ideal/eval/report"
	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/results"
)

// The evaluation protocol is package eval; this file parses the flags, builds the
// detector, draws the progress and prints the summary.

func init() {
	register("eval", "evaluate IDEAL (or the normal-only baseline) on a data set, every class", runEval)
}

const evalUsage = `--data ROOT --backbone FILE --out DIR [--format mvtec|visa|mpdd|btad|folder|meta] [--head FILE]
       [--meta FILE] [--refs REFROOT] [--keep-refs] [--exclude FILE]
       [--n-shot 1] [--a-shot 1] [--setting general|hard] [--size 448]
       [--classes a,b] [--seed N] [--backend cpu] [--cache DIR] [--save-maps] [--overlays 4]
       [--stop-on-error] [--pro both|mvtec|authors] [--table ours|authors] [--threshold T]

Runs one episode per class (references drawn with --seed, or the fixed ones of --refs),
scores every query and prints I-AUROC, I-AP, I-F1max, P-AUROC, P-F1max and AU-PRO@0.3
per class and their mean. --a-shot > 0 needs --head; --a-shot 0 (or no --head with
--a-shot 0) is the normal-only baseline. The pixel map of a query is A up-sampled
bilinearly to S×S and smoothed with a Gaussian of σ = 4 (spec §7); it is compared
with the mask resized to S×S (nearest). Writes DIR/metrics.json, DIR/metrics.csv,
DIR/scores.csv (class, path, label, defect type, image score) and a few heatmap
overlays per class under DIR/overlays, and DIR/report.html (pictures under DIR/report/):
the table, per class the image ROC and PR curves, the pixel ROC, the PRO curve up to
FPR 0.3, the histogram of the image scores, the references and a panel per query
(image | ground truth, pixel scores | overlay with the predicted and true contours),
worst first; verdicts use each class's image-level F1max threshold, or --threshold T
for every class. --save-maps writes the smoothed S×S maps as
float32 TIFFs in DIR/maps/<class>/test/<type>/<name>.tiff, the layout 'ideal metrics
--maps' reads (it gives the same numbers when the images are S×S; otherwise it needs
--resize and evaluates at the ground truth's size). DIR/view.json and the G×G maps A,
s_n and s_a of every query (DIR/view/<class>/<type>/<name>.maps.safetensors) let
'ideal-view DIR' open the run. Backbone features are cached in --cache (default
DIR/cache) by image content, size and backbone file, so a second run with another head
or shot count skips the backbone.
--format meta reads the authors' meta.json (ROOT/meta.json, or --meta FILE; paths in it
relative to ROOT), as their dataset/gen_*_json.py write it for every data set of the
paper. --refs takes the authors' reference download as it ships: REFROOT/<dataset>/
<class>/{normal,abnormal}, <dataset> matched to the format or to ROOT's folder name
(MVTecAD, VisA, BTAD, MPDD, AITEX, BraTS, ...), or REFROOT/<class>/...; with fewer
references than --n-shot/--a-shot they are repeated cyclically (a warning), and a
reference that matches no test image is a warning. The test images identical to the
references are not queries unless --keep-refs; --exclude FILE leaves out more.
--pro both (the default) prints the authors' P-PRO beside the MVTec AD AU-PRO@0.3: their
utils/eva_metrics.py (maps zoomed to a longest side of 256, 4-connected regions, 50
thresholds, FPR ≤ 0.3), another metric, the one of their tables; --pro mvtec or authors
prints one (metrics.json and metrics.csv keep au_pro, and add p_pro_authors). --table
authors also prints their four columns as their main_infer.py does.
A bad image (unreadable or corrupt, an anomalous image without a usable mask, features
or maps that are not finite) is reported on stderr and in metrics.json "skipped" with
its path and the reason, and left out; a class whose references are bad is left out as
a whole. --stop-on-error stops at the first bad image instead (exit status 1). The
outputs are rewritten (atomically) after every class. Interrupt (Ctrl-C, SIGTERM) stops
after the current image, writes the finished classes and exits with status 130; a
second interrupt exits at once. Rerun the same command to resume: the features computed
before the interrupt come from the cache. Progress is a bar when stderr is a terminal,
else one line per class; -q: none.`

type evalOptions struct {
	root, format, backbone, headPath, refs, setting, backend, out, cache string
	nShot, aShot, size, overlays                                         int
	classes                                                              []string
	seed                                                                 uint64
	saveMaps, quiet, stopOnError                                         bool
	meta, exclude                                                        string // --meta, --exclude
	keepRefs                                                             bool
	proTable                                                             // --pro, --table
	threshold                                                            thresholdFlag
	// ctx stops the run after the current image when it is cancelled (SIGINT: its
	// cause is errInterrupted); nil: never.
	ctx context.Context
}

func parseEvalFlags(args []string) (evalOptions, error) {
	fs := newFlagSet("eval", evalUsage)
	var o evalOptions
	fs.StringVar(&o.root, "data", "", "data set root folder (required)")
	fs.StringVar(&o.format, "format", data.FormatMVTec, "data set layout: "+strings.Join(data.Formats, ", "))
	fs.StringVar(&o.backbone, "backbone", "", "DINOv2 weights (required)")
	fs.StringVar(&o.headPath, "head", "", "IDE head weights (needed when --a-shot > 0)")
	fs.StringVar(&o.refs, "refs", "", "fixed reference-set root (REFROOT/<dataset>/<class>/{normal,abnormal})")
	fs.StringVar(&o.meta, "meta", "", "the authors' meta.json for --format meta (default ROOT/meta.json)")
	fs.BoolVar(&o.keepRefs, "keep-refs", false, "keep the references among the queries (the authors' released MVTec/MPDD protocol)")
	fs.StringVar(&o.exclude, "exclude", "", "file listing test images to leave out of the queries, one a line (relative to --data or absolute)")
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
	fs.Var(&o.threshold, "threshold", "image-score threshold of the report's verdicts (default: each class's F1max threshold)")
	addProTableFlags(fs, &o.proTable)
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
	case o.meta != "" && o.format != data.FormatMeta:
		return o, usageErrorf("--meta needs --format meta")
	}
	if err := o.proTable.check(); err != nil {
		return o, err
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
	defer release()
	o.ctx = ctx
	return evaluate(o, os.Stdout, os.Stderr)
}

func evaluate(o evalOptions, stdout, stderr io.Writer) error {
	ctx := o.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	setting, err := data.ParseSetting(o.setting)
	if err != nil {
		return usageErrorf("%v", err)
	}
	ds, err := openEvalData(o)
	if err != nil {
		return err
	}
	var exclude []string
	if o.exclude != "" {
		if exclude, err = eval.ReadPathList(o.exclude); err != nil {
			return fmt.Errorf("--exclude: %w", err)
		}
	}
	be, note, err := ideal.OpenBackend(o.backend)
	if errors.Is(err, ideal.ErrUnknownBackend) {
		return usageErrorf("--backend: %v", err)
	} else if err != nil {
		return err
	}
	defer be.Close()
	if note != "" {
		fmt.Fprintln(stderr, note)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	p := newEvalProgress(o, stderr)
	det, err := ideal.New(ideal.Options{Backbone: o.backbone, Head: o.headPath, Size: o.size, Backend: be, Cache: o.cache, Warn: p.warn})
	if err != nil {
		return err
	}
	defer det.Close()
	p.files = &eval.FileSink{Dir: o.out, SaveMaps: o.saveMaps, Overlays: o.overlays, Cache: o.cache, Lock: &outputsMu, Warn: p.warn,
		Report: report.New(o.out, o.threshold.reportOptions(eval.DefaultProLimit))}
	rep, err := eval.Run(ctx, det, ds, eval.Options{NShot: o.nShot, AShot: o.aShot, Setting: setting, Seed: o.seed, Refs: o.refs,
		KeepRefs: o.keepRefs, Exclude: exclude, Warn: p.warn, PRO: o.pro,
		StopOnError: o.stopOnError, Backbone: o.backbone, Head: o.headPath}, p)
	if err != nil {
		return explainEvalError(o, rep, err)
	}
	printEvalSummary(stdout, o, rep, p.removed)
	return nil
}

// openEvalData opens --data in --format (with --meta's meta.json for the meta format).
func openEvalData(o evalOptions) (*data.Dataset, error) {
	if o.format == data.FormatMeta {
		return data.OpenMeta(o.root, o.meta, o.classes)
	}
	return data.Open(o.root, o.format, o.classes)
}

// explainEvalError says what a run that ended early left in the output folder.
func explainEvalError(o evalOptions, rep *eval.Report, err error) error {
	var stopped *eval.StoppedError
	if !errors.As(err, &stopped) {
		return err
	}
	if isInterrupt(err) {
		return fmt.Errorf("%w after %d of %d classes: %s holds the finished ones; rerun the same command to resume "+
			"(the %d features computed so far are in the cache %s and are not computed again)",
			errInterrupted, stopped.Done, stopped.Of, o.out, rep.CacheMiss, o.cache)
	}
	return fmt.Errorf("%w (--stop-on-error; the outputs in %s hold the %d of %d classes finished before)", stopped.Err, o.out, stopped.Done, stopped.Of)
}

// printEvalSummary prints the metrics table and where the outputs are.
func printEvalSummary(stdout io.Writer, o evalOptions, rep *eval.Report, removed int) {
	nScores := 0
	for _, c := range rep.Classes {
		nScores += c.Images
	}
	fmt.Fprintf(stdout, "%s, %d-shot normal + %d-shot abnormal (%s setting), S = %d, backbone %s\n",
		rep.Mode, o.nShot, o.aShot, rep.Setting, o.size, o.backbone)
	printTables(stdout, &metricsReport{ProLimit: rep.ProLimit, PRO: rep.PRO, Classes: rep.Classes, Mean: rep.Mean,
		ImageScore: "the head's (mean of the top 1% of A)",
		MapFiles:   map[mapio.Source]int{mapio.Source(rep.PixelMaps): nScores}}, o.table)
	fmt.Fprintf(stdout, "features: %d from the cache, %d computed (cache %s); %.1fs\n", rep.CacheHits, rep.CacheMiss, o.cache, rep.Seconds)
	if len(rep.Skipped) > 0 {
		fmt.Fprintf(stdout, "%d images left out (see metrics.json), e.g. %s\n", len(rep.Skipped), rep.Skipped[0])
	}
	fmt.Fprintf(stdout, "wrote %s, %s, %s, %s (ideal-view %s)", filepath.Join(o.out, "metrics.json"), filepath.Join(o.out, "metrics.csv"),
		filepath.Join(o.out, "scores.csv"), filepath.Join(o.out, results.FileName), o.out)
	if o.overlays > 0 {
		fmt.Fprintf(stdout, ", overlays in %s (colours span each class's range of A)", filepath.Join(o.out, "overlays"))
	}
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "report: %s\n", filepath.Join(o.out, report.FileName))
	if !o.saveMaps {
		return
	}
	skip := ""
	if removed > 0 {
		fmt.Fprintf(stdout, "note: %d test images are not queries (references, or left out by the hard setting) and have no map or score: 'ideal metrics' leaves them out with --skip-missing\n", removed)
		skip = " --skip-missing"
	}
	fmt.Fprintf(stdout, "maps (after smoothing, %d×%d float32 TIFF) in %s: ideal metrics --data %s --format %s --maps %s --scores %s%s\n",
		o.size, o.size, filepath.Join(o.out, "maps"), o.root, o.format, filepath.Join(o.out, "maps"), filepath.Join(o.out, "scores.csv"), skip)
}

// evalProgress is the eval.Sink of the command: it writes the outputs (eval.FileSink)
// and reports on stderr: a progress bar when stderr is a terminal, else one line per
// class (none with -q); the images left out and the warnings always.
type evalProgress struct {
	files   *eval.FileSink
	stderr  io.Writer
	quiet   bool
	bar     *progressbar.ProgressBar
	eps     int
	class   string // the class under way, for the warnings
	done    int    // queries of the class looked at
	skipped int    // queries of the class left out
	start   time.Time
	removed int // test images that are not queries (references, hard setting)
}

func newEvalProgress(o evalOptions, stderr io.Writer) *evalProgress {
	return &evalProgress{stderr: stderr, quiet: o.quiet}
}

// drawsBars reports whether w is a terminal: progress bars are drawn only there.
func drawsBars(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *evalProgress) Begin(rep *eval.Report, eps []*data.Episode) {
	p.files.Begin(rep, eps)
	p.eps = len(eps)
	total := 0
	for _, ep := range eps {
		total += len(ep.Queries)
		p.removed += ep.Removed
	}
	if !p.quiet && drawsBars(p.stderr) {
		p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.stderr),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionClearOnFinish())
	}
}

func (p *evalProgress) ClassStart(i int, ep *data.Episode) {
	p.files.ClassStart(i, ep)
	p.class, p.done, p.skipped, p.start = ep.Class, 0, 0, time.Now()
	if p.bar != nil {
		p.bar.Describe(fmt.Sprintf("class %d/%d %s", i+1, p.eps, ep.Class))
	}
}

func (p *evalProgress) Query(q *eval.Query) error {
	p.step()
	return p.files.Query(q)
}

func (p *evalProgress) Skipped(path, reason string) {
	if p.class != "" && !strings.HasPrefix(path, "class ") {
		p.step()
		p.skipped++
	}
	p.files.Skipped(path, reason)
	p.clearBar()
	fmt.Fprintf(p.stderr, "skipped %s: %s\n", path, reason)
}

func (p *evalProgress) ClassDone(ep *data.Episode, rep *eval.Report, evaluated bool) error {
	if p.bar != nil && !evaluated {
		p.bar.Add(len(ep.Queries) - p.done)
	}
	err := p.files.ClassDone(ep, rep, evaluated)
	if !p.quiet && p.bar == nil {
		i := len(rep.Episodes)
		if evaluated {
			fmt.Fprintf(p.stderr, "class %d/%d %s: %d queries scored, %d left out (%.1fs)\n", i, p.eps, ep.Class, p.done-p.skipped, p.skipped, time.Since(p.start).Seconds())
		} else {
			fmt.Fprintf(p.stderr, "class %d/%d %s: left out (its references)\n", i, p.eps, ep.Class)
		}
	}
	p.class = ""
	return err
}

func (p *evalProgress) End(rep *eval.Report) error {
	if p.bar != nil {
		p.bar.Finish()
	}
	return p.files.End(rep)
}

// step counts a query looked at.
func (p *evalProgress) step() {
	p.done++
	if p.bar != nil {
		p.bar.Add(1)
	}
}

// clearBar clears the bar's line before a message.
func (p *evalProgress) clearBar() {
	if p.bar != nil {
		p.bar.Clear()
	}
}

// warn prints a warning of the detector or of the outputs, naming the class under way.
func (p *evalProgress) warn(msg string) {
	p.clearBar()
	if p.class != "" {
		msg = "class " + p.class + ": " + msg
	}
	fmt.Fprintf(p.stderr, "warning: %s\n", msg)
}
