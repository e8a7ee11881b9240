package main

import (
	"context"
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
	"github.com/ideal-fsad/ideal/eval"
	"github.com/ideal-fsad/ideal/eval/report"
)

func init() {
	register("metrics", "evaluate anomaly maps from any tool (official MVTec AD metrics)", runMetrics)
}

const metricsUsage = `--data ROOT --maps MAPS [--format mvtec|visa|mpdd|btad|folder] [--scores CSV]
       [--pro-limit 0.3] [--pro both|mvtec|authors] [--table ours|authors]
       [--classes a,b] [--resize] [--skip-missing] [--json FILE]
       [--report DIR] [--threshold T]

Reads one anomaly map per test image from MAPS/<class>/test/<type>/<name>.tiff (the
official MVTec AD evaluation layout; <type> is the defect type, "good" for normal
images, or the image's own folder name, e.g. BTAD's ok/ko; .tif and 8/16-bit grey .png
maps are accepted too and read as their grey levels), the ground truth from the data
set, and prints per class and their mean: I-AUROC, I-AP, I-F1max (image score = the
map's maximum unless --scores gives one), P-AUROC, P-F1max and AU-PRO up to the FPR
limit. All thresholds are exact; an undefined metric (a class without anomalies) is
shown as n/a and left out of the mean.
--pro both (the default) adds the authors' P-PRO beside the MVTec AD AU-PRO: their
utils/eva_metrics.py, maps zoomed to a longest side of 256 (bilinear; masks nearest),
4-connected regions, 50 thresholds from the highest score to the lowest, FPR ≤ 0.3.
It is another metric than AU-PRO and the two columns must not be compared; --pro mvtec
or authors shows one. --table authors also prints the authors' four columns (I-AUROC,
I-AP, P-AUROC, P-PRO) as their main_infer.py prints them.
--report DIR writes DIR/report.html (pictures under DIR/report/), as 'ideal eval' does:
the table, per class the image ROC and PR curves, the pixel ROC, the PRO curve, the
histogram of the image scores, and a panel per test image, worst first. Verdicts use
the image-level F1max threshold of each class, or --threshold T for every class.
`

// metricsOptions are the parsed flags of ideal metrics.
type metricsOptions struct {
	root, format, maps, scores, jsonPath string
	proLimit                             float64
	classes                              []string
	resize, quiet, skipMissing           bool
	proTable                             // --pro, --table
	reportDir                            string
	threshold                            thresholdFlag
}

// thresholdFlag is --threshold: a verdict threshold, or none (F1max per class).
type thresholdFlag struct {
	v   float64
	set bool
}

func (t *thresholdFlag) String() string {
	if !t.set {
		return ""
	}
	return strconv.FormatFloat(t.v, 'g', -1, 64)
}

func (t *thresholdFlag) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%q is not a finite number", s)
	}
	t.v, t.set = v, true
	return nil
}

// reportOptions are the report's options from --threshold and the PRO limit.
func (t thresholdFlag) reportOptions(proLimit float64) report.Options {
	return report.Options{Threshold: t.v, FixedThreshold: t.set, ProLimit: proLimit}
}

func runMetrics(args []string) error {
	o, err := parseMetricsFlags(args)
	if err != nil {
		return err
	}
	return evaluateMaps(o, os.Stdout, os.Stderr)
}

func parseMetricsFlags(args []string) (metricsOptions, error) {
	fs := newFlagSet("metrics", metricsUsage)
	var o metricsOptions
	fs.StringVar(&o.root, "data", "", "data set root folder (required)")
	fs.StringVar(&o.format, "format", data.FormatMVTec, "data set layout: "+strings.Join(data.Formats, ", "))
	fs.StringVar(&o.maps, "maps", "", "anomaly map root folder (required)")
	fs.StringVar(&o.scores, "scores", "", "CSV of image scores with the columns class, path (or name), score")
	fs.Float64Var(&o.proLimit, "pro-limit", 0.3, "FPR integration limit of AU-PRO, in (0, 1]")
	classes := fs.String("classes", "", "comma-separated classes (default all)")
	fs.BoolVar(&o.resize, "resize", false, "resize maps bilinearly to their ground truth's size instead of failing")
	fs.BoolVar(&o.skipMissing, "skip-missing", false, "leave out test images that have no map (e.g. the references of an 'ideal eval' run) instead of failing")
	fs.StringVar(&o.jsonPath, "json", "", "also write the results as JSON to this file")
	fs.StringVar(&o.reportDir, "report", "", "also write DIR/report.html: curves and a panel per test image")
	fs.Var(&o.threshold, "threshold", "image-score threshold of the report's verdicts (default: each class's F1max threshold)")
	fs.BoolVar(&o.quiet, "q", false, "no progress on stderr")
	addProTableFlags(fs, &o.proTable)
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	if err := o.proTable.check(); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, usageErrorf("unexpected arguments %q", fs.Args())
	}
	if o.root == "" || o.maps == "" {
		return o, usageErrorf("--data and --maps are required")
	}
	if !(o.proLimit > 0 && o.proLimit <= 1) {
		return o, usageErrorf("--pro-limit %v is outside (0, 1]", o.proLimit)
	}
	o.classes = splitList(*classes)
	return o, nil
}

// metricsReport is what ideal metrics writes with --json; printMetricsTable prints it
// (and ideal eval's summary).
type metricsReport = eval.MapsReport

func evaluateMaps(o metricsOptions, stdout, stderr io.Writer) error {
	ds, err := data.Open(o.root, o.format, o.classes)
	if err != nil {
		return err
	}
	var sink eval.MapsSink = &metricsProgress{stderr: stderr, quiet: o.quiet}
	if o.reportDir != "" {
		sink = &eval.ReportMapsSink{Next: sink, Report: report.New(o.reportDir, o.threshold.reportOptions(o.proLimit))}
	}
	rep, err := eval.Maps(context.Background(), ds, eval.MapsOptions{Maps: o.maps, Scores: o.scores, ProLimit: o.proLimit,
		Resize: o.resize, SkipMissing: o.skipMissing, PRO: o.pro}, sink)
	var size *eval.MapSizeError
	if errors.As(err, &size) {
		return fmt.Errorf("%w (use --resize to resize maps bilinearly)", err)
	} else if err != nil {
		return err
	}
	printTables(stdout, rep, o.table)
	if o.reportDir != "" {
		fmt.Fprintf(stdout, "report: %s\n", filepath.Join(o.reportDir, report.FileName))
	}
	if o.jsonPath != "" {
		return rep.WriteJSON(o.jsonPath)
	}
	return nil
}

// metricsProgress is the eval.MapsSink of the command: a progress bar when stderr is a
// terminal, else one line per class (none with -q); the warnings always.
type metricsProgress struct {
	eval.NopMapsSink
	stderr io.Writer
	quiet  bool
	bar    *progressbar.ProgressBar
	maps   int // maps of the class under way
	start  time.Time
}

func (p *metricsProgress) Warn(msg string) { fmt.Fprintf(p.stderr, "warning: %s\n", msg) }

func (p *metricsProgress) Begin(_ *eval.MapsReport, total int) {
	if !p.quiet {
		p.bar = newBar(total, "maps")
	}
}

func (p *metricsProgress) ClassStart(_ int, class string) {
	p.maps, p.start = 0, time.Now()
	if p.bar != nil {
		p.bar.Describe(class)
	}
}

func (p *metricsProgress) Map(string) {
	if p.maps++; p.bar != nil {
		p.bar.Add(1)
	}
}

func (p *metricsProgress) ClassDone(class string, _ *eval.MapsReport) error {
	if !p.quiet && p.bar == nil {
		fmt.Fprintf(p.stderr, "class %s: %d maps (%.1fs)\n", class, p.maps, time.Since(p.start).Seconds())
	}
	return nil
}

func (p *metricsProgress) End(*eval.MapsReport) error {
	if p.bar != nil {
		p.bar.Finish()
	}
	return nil
}

// printMetricsTable prints the per-class table, the mean and the notes (ideal eval's
// summary too).
func printMetricsTable(w io.Writer, rep *metricsReport) { rep.WriteTable(w) }
