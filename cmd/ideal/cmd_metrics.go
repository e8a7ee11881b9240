package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/schollz/progressbar/v3"

	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/internal/atomicfile"
	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/metrics"
)

func init() {
	register("metrics", "evaluate anomaly maps from any tool (official MVTec AD metrics)", runMetrics)
}

const metricsUsage = `--data ROOT --maps MAPS [--format mvtec|visa|mpdd|btad|folder] [--scores CSV]
       [--pro-limit 0.3] [--classes a,b] [--resize] [--skip-missing] [--json FILE]

Reads one anomaly map per test image from MAPS/<class>/test/<type>/<name>.tiff (the
official MVTec AD evaluation layout; <type> is the defect type, "good" for normal
images, or the image's own folder name, e.g. BTAD's ok/ko; .tif and 8/16-bit grey .png
maps are accepted too and read as their grey levels), the ground truth from the data
set, and prints per class and their mean: I-AUROC, I-AP, I-F1max (image score = the
map's maximum unless --scores gives one), P-AUROC, P-F1max and AU-PRO up to the FPR
limit. All thresholds are exact; an undefined metric (a class without anomalies) is
shown as n/a and left out of the mean.
`

// metricsOptions are the parsed flags of ideal metrics.
type metricsOptions struct {
	root, format, maps, scores, jsonPath string
	proLimit                             float64
	classes                              []string
	resize, quiet, skipMissing           bool
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
	fs.BoolVar(&o.quiet, "q", false, "no progress on stderr")
	if err := parseFlags(fs, args); err != nil {
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

// metricsReport is what ideal metrics writes with --json.
type metricsReport struct {
	Data       string                `json:"data"`
	Format     string                `json:"format"`
	Maps       string                `json:"maps"`
	ProLimit   float64               `json:"pro_limit"`
	ImageScore string                `json:"image_score"` // "map maximum" or "CSV <file>"
	MapFiles   map[mapio.Source]int  `json:"map_files"`   // maps read, by kind of file
	Resized    int                   `json:"resized"`     // maps resized to their ground truth (--resize)
	LeftOut    []string              `json:"left_out,omitempty"`
	NoMap      []string              `json:"no_map,omitempty"` // test images left out by --skip-missing
	Classes    []metrics.ClassResult `json:"classes"`
	Mean       metrics.MeanResult    `json:"mean"`
}

// mapJob is one test image's map, read and checked against its ground truth.
type mapJob struct {
	sample  data.Sample
	mapPath string

	w, h    int       // ground-truth size
	pix     []float32 // the map at the ground-truth size
	mask    []bool    // nil for a normal image
	max     float32   // the map's maximum as read
	src     mapio.Source
	resized bool
	err     error
	ready   chan struct{} // closed when the fields above are set
}

func evaluateMaps(o metricsOptions, stdout, stderr io.Writer) error {
	ds, err := data.Open(o.root, o.format, o.classes)
	if err != nil {
		return err
	}
	rep := metricsReport{Data: o.root, Format: o.format, Maps: o.maps, ProLimit: o.proLimit,
		ImageScore: "map maximum", MapFiles: map[mapio.Source]int{}}
	for _, p := range ds.Problems() {
		rep.LeftOut = append(rep.LeftOut, p.Error())
	}
	if len(rep.LeftOut) > 0 {
		fmt.Fprintf(stderr, "warning: %d test images left out by the data set reader (no ground truth), e.g. %s\n",
			len(rep.LeftOut), rep.LeftOut[0])
	}
	var scores map[string]float64 // by sample path, with --scores
	if o.scores != "" {
		if scores, err = readScoresCSV(o.scores, ds, stderr); err != nil {
			return err
		}
		rep.ImageScore = "CSV " + o.scores
	}

	// Find every map first, so that a missing one fails before any work.
	jobs := make([][]*mapJob, len(ds.Classes))
	used := map[string]bool{}
	var missing []string
	total := 0
	for ci, c := range ds.Classes {
		for _, s := range c.Test {
			p, err := mapio.Find(o.maps, c.Name, s.DefectType, s.Path)
			if err != nil {
				missing = append(missing, p)
				continue
			}
			used[p] = true
			jobs[ci] = append(jobs[ci], &mapJob{sample: s, mapPath: p, ready: make(chan struct{})})
			total++
		}
	}
	const show = 10
	if len(missing) > 0 && o.skipMissing {
		rep.NoMap = missing
		fmt.Fprintf(stderr, "warning: --skip-missing: %d test images have no map and are left out, e.g. %s\n", len(missing), missing[0])
	} else if len(missing) > 0 {
		return fmt.Errorf("metrics: %d test images have no map under %s, e.g.:\n  %s",
			len(missing), o.maps, strings.Join(missing[:min(show, len(missing))], "\n  "))
	}
	if scores != nil { // every image that is evaluated needs a score
		var noScore []string
		for _, cj := range jobs {
			for _, j := range cj {
				if _, ok := scores[j.sample.Path]; !ok {
					noScore = append(noScore, j.sample.Path)
				}
			}
		}
		if len(noScore) > 0 {
			return fmt.Errorf("metrics: scores %s has no score for %d test images, e.g.:\n  %s",
				o.scores, len(noScore), strings.Join(noScore[:min(show, len(noScore))], "\n  "))
		}
	}
	if extra := extraMaps(o.maps, ds, used); len(extra) > 0 {
		fmt.Fprintf(stderr, "warning: %d map files match no test image and are ignored, e.g. %s\n", len(extra), extra[0])
	}

	var bar *progressbar.ProgressBar
	if !o.quiet {
		bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription("maps"), progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
	}
	acc := metrics.NewPixelAccumulator(0) // reused by every class
	for ci, c := range ds.Classes {
		if bar != nil {
			bar.Describe(c.Name)
		}
		r, err := evaluateClass(c.Name, jobs[ci], acc, o, scores, &rep, bar)
		if err != nil {
			return err
		}
		rep.Classes = append(rep.Classes, r)
	}
	if bar != nil {
		bar.Finish()
	}
	rep.Mean = metrics.Mean(rep.Classes)
	printMetricsTable(stdout, &rep)
	if o.jsonPath != "" {
		err := atomicfile.Write(o.jsonPath, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(&rep)
		})
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
	}
	return nil
}

// evaluateClass reads the maps and ground truth of one class (two readers work
// ahead of the accumulator, at most four maps in memory) and computes its metrics.
func evaluateClass(class string, jobs []*mapJob, acc *metrics.PixelAccumulator, o metricsOptions, scores map[string]float64,
	rep *metricsReport, bar *progressbar.ProgressBar) (metrics.ClassResult, error) {
	slots := make(chan struct{}, 4)
	next := make(chan *mapJob)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for j := range next {
				readMapJob(j, o.resize)
				close(j.ready)
			}
		})
	}
	go func() {
		defer close(next)
		for _, j := range jobs {
			select {
			case slots <- struct{}{}:
			case <-stop:
				return
			}
			select {
			case next <- j:
			case <-stop:
				return
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	acc.Reset()
	imgScores := make([]float64, len(jobs))
	labels := make([]bool, len(jobs))
	for i, j := range jobs {
		<-j.ready
		<-slots
		if j.err != nil {
			return metrics.ClassResult{}, j.err
		}
		if i == 0 {
			acc.Reserve(len(jobs) * j.w * j.h)
		}
		if err := acc.Add(j.w, j.h, j.pix, j.mask); err != nil {
			return metrics.ClassResult{}, fmt.Errorf("%s: %w", j.mapPath, err)
		}
		labels[i] = j.sample.Anomalous
		imgScores[i] = float64(j.max)
		if scores != nil {
			imgScores[i] = scores[j.sample.Path]
		}
		rep.MapFiles[j.src]++
		if j.resized {
			rep.Resized++
		}
		j.pix, j.mask = nil, nil
		if bar != nil {
			bar.Add(1)
		}
	}
	img, err := metrics.ImageMetrics(imgScores, labels)
	if err != nil {
		return metrics.ClassResult{}, fmt.Errorf("class %s: %w", class, err)
	}
	pix, err := acc.Result(o.proLimit)
	if err != nil {
		return metrics.ClassResult{}, err
	}
	return metrics.NewClassResult(class, img, pix), nil
}

// readMapJob reads one map and the size (and, for an anomalous image, the mask)
// of its ground truth, and resizes the map when asked to.
func readMapJob(j *mapJob, resize bool) {
	m, src, err := mapio.Read(j.mapPath)
	if err != nil {
		j.err = err
		return
	}
	j.src = src
	if j.max = m.Max(); j.max != j.max {
		j.err = fmt.Errorf("metrics: map %s has NaN values", j.mapPath)
		return
	}
	s := j.sample
	gt := s.Path
	switch {
	case s.MaskPath != "":
		mask, err := imaging.ReadMask(s.MaskPath)
		if err != nil {
			j.err = err
			return
		}
		j.w, j.h, j.mask, gt = mask.W, mask.H, mask.Pix, s.MaskPath
	case s.Anomalous:
		j.err = fmt.Errorf("metrics: anomalous test image %s has no mask", s.Path)
		return
	default:
		if j.w, j.h, err = imaging.ImageSize(s.Path); err != nil {
			j.err = err
			return
		}
	}
	j.pix = m.Pix
	if m.W != j.w || m.H != j.h {
		if !resize {
			j.err = fmt.Errorf("metrics: map %s is %d×%d but its ground truth %s is %d×%d (use --resize to resize maps bilinearly)",
				j.mapPath, m.W, m.H, gt, j.w, j.h)
			return
		}
		j.pix = imaging.UpsampleBilinear(m.Pix, m.H, m.W, j.h, j.w)
		j.resized = true
	}
}

// extraMaps lists map files under the evaluated classes' folders of root that no
// test image uses.
func extraMaps(root string, ds *data.Dataset, used map[string]bool) []string {
	var extra []string
	for _, c := range ds.Classes {
		filepath.WalkDir(filepath.Join(root, c.Name, "test"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() && slices.Contains(mapio.Exts, strings.ToLower(filepath.Ext(p))) && !used[p] {
				extra = append(extra, p)
			}
			return nil
		})
	}
	return extra
}

// readScoresCSV reads image scores from a CSV with a header naming the columns
// class, path or name, and score (or "image score", as ideal eval writes it). A path or name matches a test image of the class
// when it is a trailing part of the image's path (whole folder names), with or
// without the extension; it must match exactly one image. Every test image needs a
// score; rows matching no image are a warning.
func readScoresCSV(path string, ds *data.Dataset, stderr io.Writer) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.TrimLeadingSpace = true
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("metrics: scores %s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // the byte-order mark spreadsheet programs write
		}
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	key, ok := col["path"]
	if !ok {
		key, ok = col["name"]
	}
	ci, okc := col["class"]
	si, oks := col["score"]
	for _, alias := range []string{"image score", "image_score"} { // ideal eval's scores.csv
		if i, ok := col[alias]; ok && !oks {
			si, oks = i, true
		}
	}
	if !ok || !okc || !oks {
		return nil, fmt.Errorf("metrics: scores %s: the header %q needs the columns class, path (or name) and score", path, head)
	}
	// Index every test image by every trailing part of its path.
	type ref struct {
		path      string
		ambiguous bool
	}
	index := map[string]map[string]*ref{}
	for _, c := range ds.Classes {
		idx := map[string]*ref{}
		for _, s := range c.Test {
			parts := strings.Split(filepath.ToSlash(filepath.Clean(s.Path)), "/")
			for k := range parts {
				tail := strings.Join(parts[k:], "/")
				for _, t := range []string{tail, strings.TrimSuffix(tail, filepath.Ext(tail))} {
					if old, dup := idx[t]; dup && old.path != s.Path {
						old.ambiguous = true
					} else if !dup {
						idx[t] = &ref{path: s.Path}
					}
				}
			}
		}
		index[c.Name] = idx
	}
	scores := map[string]float64{}
	unmatched := 0
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("metrics: scores %s: %w", path, err)
		}
		idx, ok := index[rec[ci]]
		if !ok {
			unmatched++
			continue
		}
		ref := idx[filepath.ToSlash(filepath.Clean(rec[key]))]
		if ref == nil {
			unmatched++
			continue
		}
		if ref.ambiguous {
			return nil, fmt.Errorf("metrics: scores %s line %d: %q matches several test images of %s; give a longer path",
				path, line, rec[key], rec[ci])
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[si]), 64)
		if err != nil || v != v {
			return nil, fmt.Errorf("metrics: scores %s line %d: bad score %q", path, line, rec[si])
		}
		if _, dup := scores[ref.path]; dup {
			return nil, fmt.Errorf("metrics: scores %s line %d: a second score for %s", path, line, ref.path)
		}
		scores[ref.path] = v
	}
	if unmatched > 0 {
		fmt.Fprintf(stderr, "warning: %d rows of %s match no test image of the evaluated classes\n", unmatched, path)
	}
	return scores, nil
}

// printMetricsTable prints the per-class table (in percent), the mean, and notes
// about undefined values and how the maps were read.
func printMetricsTable(w io.Writer, rep *metricsReport) {
	heads := append(metrics.Names[:5:5], fmt.Sprintf("AU-PRO@%g", rep.ProLimit))
	width := len("Product")
	for _, c := range rep.Classes {
		width = max(width, len(c.Class))
	}
	colw := func(i int) int { return max(len(heads[i]), 7) }
	row := func(name string, vals [6]metrics.Value) {
		fmt.Fprintf(w, "%-*s", width, name)
		for i, v := range vals {
			cell := "n/a"
			if v.Defined() {
				cell = strconv.FormatFloat(100*float64(v), 'f', 2, 64)
			}
			fmt.Fprintf(w, "  %*s", colw(i), cell)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-*s", width, "Product")
	for i, h := range heads {
		fmt.Fprintf(w, "  %*s", colw(i), h)
	}
	fmt.Fprintln(w)
	for _, c := range rep.Classes {
		row(c.Class, c.Values())
	}
	row("Mean", rep.Mean.Values())
	fmt.Fprintf(w, "\nimage score: %s; thresholds exact; AU-PRO: 8-connected regions, FPR up to %g, divided by %g\n",
		rep.ImageScore, rep.ProLimit, rep.ProLimit)
	var kinds []string
	for k, n := range rep.MapFiles {
		kinds = append(kinds, fmt.Sprintf("%d %s", n, k))
	}
	slices.Sort(kinds)
	fmt.Fprintf(w, "maps: %s\n", strings.Join(kinds, ", "))
	if rep.MapFiles[mapio.SourcePNG8]+rep.MapFiles[mapio.SourcePNG16]+rep.MapFiles[mapio.SourceIntTIFF] > 0 {
		fmt.Fprintln(w, "note: integer maps (PNG, 8/16-bit TIFF) are evaluated on their grey levels: few levels mean many tied scores")
	}
	if rep.Resized > 0 {
		fmt.Fprintf(w, "note: %d maps were resized bilinearly (align_corners=False, no anti-aliasing) to their ground truth's size\n", rep.Resized)
	}
	for _, c := range rep.Classes {
		if len(c.Undefined) > 0 {
			fmt.Fprintf(w, "n/a: %s: %s\n", c.Class, groupByReason(c.Undefined))
		}
	}
	if len(rep.Mean.Excluded) > 0 {
		fmt.Fprintf(w, "mean: %s\n", groupByReason(rep.Mean.Excluded))
	}
}

// groupByReason joins "metric: reason" lines, naming each reason once:
// "I-AUROC, I-AP: no anomalous images; AU-PRO: no ground-truth region".
func groupByReason(lines []string) string {
	var reasons []string
	metricsOf := map[string][]string{}
	for _, l := range lines {
		m, why, _ := strings.Cut(l, ": ")
		if _, seen := metricsOf[why]; !seen {
			reasons = append(reasons, why)
		}
		metricsOf[why] = append(metricsOf[why], m)
	}
	parts := make([]string, len(reasons))
	for i, why := range reasons {
		parts[i] = strings.Join(metricsOf[why], ", ") + ": " + why
	}
	return strings.Join(parts, "; ")
}
