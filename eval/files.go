package eval

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
	"sync"

	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/eval/report"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/internal/atomicfile"
	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/metrics"
	"github.com/ideal-fsad/ideal/results"
)

// FileSink is the Sink that writes a run's results folder, as 'ideal eval --out DIR'
// does:
//
//	DIR/metrics.json     the Report
//	DIR/metrics.csv      class, I-AUROC, I-AP, I-F1max, P-AUROC, P-F1max, AU-PRO, P-PRO (authors) (and Mean)
//	DIR/scores.csv       class, path, label, defect type, image score: one row per query
//	DIR/view.json        the results manifest for 'ideal-view DIR' (package results), with
//	DIR/view/<class>/<type>/<name>.maps.safetensors  the G×G maps A, s_n and s_a
//	DIR/maps/<class>/test/<type>/<name>.tiff         the S×S pixel maps (SaveMaps)
//	DIR/overlays/<class>/<type>_<name>.png           heatmap overlays (Overlays per class)
//	DIR/report.html, DIR/report/                     the report (with Report; package report)
//
// The four files at the top are rewritten (each atomically) after every class and
// when the run ends, so that they always hold the classes finished. A FileSink serves
// one run.
type FileSink struct {
	NopSink
	Dir string
	// SaveMaps writes the S×S pixel maps as float32 TIFFs in the layout 'ideal
	// metrics --maps' reads (mapio.RelPath).
	SaveMaps bool
	// Overlays is the number of overlays per class: up to Overlays−1 anomalous queries
	// and one normal one, colours spanning the class's range of A (0: none).
	Overlays int
	// Cache names the feature cache in view.json (the viewer takes features from it).
	Cache string
	// Lock, when set, is held while the set of outputs is rewritten.
	Lock sync.Locker
	// Warn receives the overlays that could not be written (they are also added to
	// the report's warnings); nil: none.
	Warn func(msg string)
	// Report, when set, makes DIR/report.html (package report): the curves and the
	// panel of every query, rewritten after every class.
	Report *report.Builder

	view     *results.Manifest
	scores   []scoreRow
	cur      classFiles
	mapsUsed map[string]int
}

// scoreRow is one row of scores.csv.
type scoreRow struct {
	class, path, defect string
	anomalous           bool
	score               float32
}

// classFiles is what a class under way adds to the outputs once it is finished.
type classFiles struct {
	view   results.Episode
	scores []scoreRow
	shown  []overlayJob
	nAbn   int
	nNorm  int
	lo, hi float32 // range of A over the class's queries
}

// overlayJob is a query whose overlay is written once the class's range of A is known.
type overlayJob struct {
	s    data.Sample
	grid int
	a    []float32
}

// Begin starts the view manifest.
func (f *FileSink) Begin(rep *Report, _ []*data.Episode) {
	f.view = &results.Manifest{Tool: "ideal eval", Backbone: rep.Backbone, Head: rep.Head, Size: rep.Size, Cache: f.Cache}
	f.mapsUsed = map[string]int{}
}

// ClassStart starts the class's episode of the view manifest.
func (f *FileSink) ClassStart(_ int, ep *data.Episode) {
	f.cur = classFiles{view: results.Episode{Class: ep.Class, Normal: []string{}},
		lo: float32(math.Inf(1)), hi: float32(math.Inf(-1))}
	for _, s := range ep.Normal {
		f.cur.view.Normal = append(f.cur.view.Normal, s.Path)
	}
	for _, s := range ep.Abnormal {
		f.cur.view.Abnormal = append(f.cur.view.Abnormal, results.Reference{Path: s.Path, Mask: s.MaskPath})
	}
	if f.Report != nil {
		f.Report.StartClass(ep.Class, reportRefs(ep))
	}
}

// reportRefs are the references of a class's episode, as the report shows them.
func reportRefs(ep *data.Episode) []report.Reference {
	var refs []report.Reference
	for _, s := range ep.Normal {
		refs = append(refs, report.Reference{Path: s.Path})
	}
	for _, s := range ep.Abnormal {
		refs = append(refs, report.Reference{Path: s.Path, Mask: s.MaskPath})
	}
	return refs
}

// Query writes the query's maps file (and its S×S map with SaveMaps).
func (f *FileSink) Query(q *Query) error {
	s, res := q.Sample, q.Result
	for _, v := range res.Map {
		f.cur.lo, f.cur.hi = min(f.cur.lo, v), max(f.cur.hi, v)
	}
	f.cur.scores = append(f.cur.scores, scoreRow{class: q.Class, path: s.Path, defect: s.DefectType, anomalous: s.Anomalous, score: res.ImageScore})
	mapsName := filepath.Join(q.Class, s.DefectType, strings.TrimSuffix(filepath.Base(s.Path), filepath.Ext(s.Path)))
	if f.mapsUsed[mapsName]++; f.mapsUsed[mapsName] > 1 { // 000.png and 000.jpg side by side
		mapsName = fmt.Sprintf("%s_%d", mapsName, f.mapsUsed[mapsName])
	}
	vq := results.Query{Path: s.Path, ImageScore: res.ImageScore, Grid: res.Grid,
		Maps: filepath.Join(f.Dir, "view", mapsName+results.MapsExt)}
	if s.Anomalous {
		vq.Label, vq.Mask = 1, s.MaskPath
	}
	if err := os.MkdirAll(filepath.Dir(vq.Maps), 0o755); err != nil {
		return err
	}
	if err := results.WriteMaps(vq.Maps, res.Grid, res.Map, res.NormalScore, res.DeviationScore); err != nil {
		return err
	}
	f.cur.view.Queries = append(f.cur.view.Queries, vq)
	if f.Report != nil {
		if err := f.Report.Add(report.Query{Path: s.Path, DefectType: s.DefectType, Anomalous: s.Anomalous, Score: float64(res.ImageScore),
			W: res.Side, H: res.Side, Pixels: q.Pixels, Mask: q.Mask}); err != nil {
			return err
		}
	}
	if f.SaveMaps {
		p := filepath.Join(f.Dir, "maps", mapio.RelPath(q.Class, s.DefectType, s.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := mapio.Write(p, &mapio.Map{W: res.Side, H: res.Side, Pix: q.Pixels}); err != nil {
			return err
		}
	}
	if s.Anomalous && f.cur.nAbn < f.Overlays-1 || !s.Anomalous && f.cur.nNorm < 1 && f.Overlays > 0 {
		f.cur.shown = append(f.cur.shown, overlayJob{s: s, grid: res.Grid, a: res.Map})
		if s.Anomalous {
			f.cur.nAbn++
		} else {
			f.cur.nNorm++
		}
	}
	return nil
}

// ClassDone writes the class's overlays and rewrites the outputs.
func (f *FileSink) ClassDone(ep *data.Episode, rep *Report, evaluated bool) error {
	cur := f.cur
	f.cur = classFiles{}
	if !evaluated {
		if f.Report != nil {
			f.Report.DropClass()
		}
		return nil
	}
	if f.Report != nil {
		if err := f.Report.EndClass(); err != nil {
			return err
		}
	}
	cmap, err := imaging.LookupColormap("jet")
	if err != nil {
		return err
	}
	for _, j := range cur.shown {
		if err := f.writeOverlay(ep.Class, j, cur.lo, cur.hi, cmap); err != nil {
			rep.Warnings = append(rep.Warnings, err.Error())
			if f.Warn != nil {
				f.Warn(err.Error())
			}
		}
	}
	f.scores = append(f.scores, cur.scores...)
	if len(cur.view.Queries) > 0 {
		f.view.Episodes = append(f.view.Episodes, cur.view)
	}
	return f.write(rep)
}

// End rewrites the outputs: the classes finished, the images left out.
func (f *FileSink) End(rep *Report) error { return f.write(rep) }

// writeOverlay writes DIR/overlays/<class>/<type>_<name>.png: the map A, its colours
// spanning [lo, hi] (the class's range of A), over the image at its original size.
func (f *FileSink) writeOverlay(class string, j overlayJob, lo, hi float32, cmap imaging.Colormap) error {
	img, err := imaging.LoadRGB(j.s.Path)
	if err != nil {
		return err
	}
	grid := make([]float32, len(j.a))
	for i, v := range j.a {
		grid[i] = (v - lo) / max(hi-lo, 1e-12)
	}
	name := j.s.DefectType + "_" + strings.TrimSuffix(filepath.Base(j.s.Path), filepath.Ext(j.s.Path)) + ".png"
	p := filepath.Join(f.Dir, "overlays", class, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return imaging.WritePNG(p, imaging.HeatmapOverlay(img, grid, j.grid, j.grid, cmap, 0.5))
}

func (f *FileSink) write(rep *Report) error {
	if f.Lock != nil {
		f.Lock.Lock()
		defer f.Lock.Unlock()
	}
	if f.view == nil { // End without Begin
		f.Begin(rep, nil)
	}
	if err := writeOutputs(f.Dir, rep, f.scores, f.view); err != nil {
		return err
	}
	if f.Report != nil && len(rep.Classes) > 0 {
		return f.Report.Write(rep.Summary())
	}
	return nil
}

// writeOutputs writes metrics.json, metrics.csv, scores.csv and (when a class is
// finished) view.json into dir, each atomically.
func writeOutputs(dir string, rep *Report, scores []scoreRow, view *results.Manifest) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "metrics.json"), rep); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "metrics.csv"), func(w io.Writer) error { return writeMetricsCSV(w, rep) }); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, "scores.csv"), func(w io.Writer) error { return writeScoresCSV(w, scores) }); err != nil {
		return err
	}
	if len(view.Episodes) == 0 {
		// Nothing to view yet: no manifest of an earlier run may stay beside these outputs.
		if err := os.Remove(filepath.Join(dir, results.FileName)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	return results.Write(dir, view)
}

// writeJSON writes v as indented JSON to path, atomically: metrics.json of Run and
// Maps.
func writeJSON(path string, v any) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

func writeMetricsCSV(w io.Writer, rep *Report) error {
	cw := csv.NewWriter(w)
	pro, _ := ParsePRO(string(rep.PRO))
	head := append([]string{"class"}, metrics.Names[:]...)
	if pro.authors() {
		head = append(head, metrics.AuthorsPROName)
	}
	cw.Write(head)
	row := func(name string, vals [6]metrics.Value, authors *metrics.Value) {
		rec := []string{name}
		for _, v := range vals {
			rec = append(rec, formatMetric(v))
		}
		if pro.authors() {
			v := metrics.Value(math.NaN())
			if authors != nil {
				v = *authors
			}
			rec = append(rec, formatMetric(v))
		}
		cw.Write(rec)
	}
	for _, c := range rep.Classes {
		row(c.Class, c.Values(), c.AuthorsPRO)
	}
	row("Mean", rep.Mean.Values(), rep.Mean.AuthorsPRO)
	cw.Flush()
	return cw.Error()
}

func writeScoresCSV(w io.Writer, scores []scoreRow) error {
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
}

// formatMetric is a metric as metrics.csv writes it: 6 decimals, empty when undefined.
func formatMetric(v metrics.Value) string {
	if !v.Defined() {
		return ""
	}
	return strconv.FormatFloat(float64(v), 'f', 6, 64)
}
