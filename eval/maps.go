package eval

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/eval/report"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/metrics"
)

// MapsOptions configure Maps.
type MapsOptions struct {
	// Maps is the root of the anomaly maps: one per test image, found by mapio.Find in
	// MAPS/<class>/test/<type>/<name>.tiff (the official MVTec AD evaluation layout;
	// .tif and 8/16-bit grey .png maps are read too, as their grey levels).
	Maps string
	// Scores is a CSV of image scores with the columns class, path (or name) and score
	// ("image score", as FileSink's scores.csv has it, is read too); "" takes each
	// map's maximum as its image's score.
	Scores string
	// ProLimit is the FPR limit of AU-PRO; 0 means DefaultProLimit.
	ProLimit float64
	// PRO selects the PRO metrics: PROBoth (the default when ""), PROMVTec or
	// PROAuthors. The authors' P-PRO zooms the maps from their ground truth's size.
	PRO PRO
	// Resize resizes a map bilinearly to its ground truth's size instead of failing
	// with a *MapSizeError.
	Resize bool
	// SkipMissing leaves out the test images that have no map (MapsReport.NoMap), e.g.
	// the references of a Run, instead of failing.
	SkipMissing bool
}

// MapsReport is the outcome of Maps, as 'ideal metrics --json' writes it.
type MapsReport struct {
	Data       string                `json:"data"`
	Format     string                `json:"format"`
	Maps       string                `json:"maps"`
	ProLimit   float64               `json:"pro_limit"`
	PRO        PRO                   `json:"pro"`         // the PRO metrics computed and shown
	ImageScore string                `json:"image_score"` // "map maximum" or "CSV <file>"
	MapFiles   map[mapio.Source]int  `json:"map_files"`   // maps read, by kind of file
	Resized    int                   `json:"resized"`     // maps resized to their ground truth (Resize)
	LeftOut    []string              `json:"left_out,omitempty"`
	NoMap      []string              `json:"no_map,omitempty"` // test images left out by SkipMissing
	Classes    []metrics.ClassResult `json:"classes"`
	Mean       metrics.MeanResult    `json:"mean"`
}

// WriteJSON writes the report as indented JSON to path, atomically.
func (r *MapsReport) WriteJSON(path string) error { return writeJSON(path, r) }

// MapsSink follows Maps. Warn may come first (before Begin); then Begin, for each
// class ClassStart, Map for each map, ClassDone; End last, however the run ends
// (after Begin). An error from ClassDone or End ends the run with that error.
type MapsSink interface {
	// Warn: something was left out or ignored (test images without ground truth or,
	// with SkipMissing, without a map; score rows or map files matching no test image).
	Warn(msg string)
	// Begin: every map was found; total maps will be read.
	Begin(rep *MapsReport, total int)
	// ClassStart: class i (0-based) begins.
	ClassStart(i int, class string)
	// Map: one map was read and accumulated.
	Map(path string)
	// ClassDone: the class's metrics are in rep.Classes.
	ClassDone(class string, rep *MapsReport) error
	// End: the run ends; rep holds the classes finished and their mean.
	End(rep *MapsReport) error
}

// MapQuery is a test image's map as Maps evaluated it.
type MapQuery struct {
	Class  string
	Sample data.Sample
	Map    string    // the map file
	Score  float64   // the image score
	W, H   int       // the ground truth's size
	Pixels []float32 // the map at W×H
	Mask   []bool    // the ground truth; nil for a normal image
}

// MapQuerySink is a MapsSink that sees every map's values: Maps calls MapQuery
// before Map. An error ends the run.
type MapQuerySink interface {
	MapsSink
	MapQuery(q *MapQuery) error
}

// ReportMapsSink is a MapQuerySink that makes the report (package report) of the
// maps and passes everything on to Next (nil: nothing more).
type ReportMapsSink struct {
	Next   MapsSink
	Report *report.Builder
}

func (s *ReportMapsSink) next() MapsSink {
	if s.Next == nil {
		return NopMapsSink{}
	}
	return s.Next
}

func (s *ReportMapsSink) Warn(msg string)                  { s.next().Warn(msg) }
func (s *ReportMapsSink) Begin(rep *MapsReport, total int) { s.next().Begin(rep, total) }
func (s *ReportMapsSink) Map(path string)                  { s.next().Map(path) }

func (s *ReportMapsSink) ClassStart(i int, class string) {
	s.Report.StartClass(class, nil)
	s.next().ClassStart(i, class)
}

func (s *ReportMapsSink) MapQuery(q *MapQuery) error {
	return s.Report.Add(report.Query{Path: q.Sample.Path, DefectType: q.Sample.DefectType, Anomalous: q.Sample.Anomalous,
		Score: q.Score, W: q.W, H: q.H, Pixels: q.Pixels, Mask: q.Mask})
}

func (s *ReportMapsSink) ClassDone(class string, rep *MapsReport) error {
	if err := s.Report.EndClass(); err != nil {
		return err
	}
	if err := s.Report.Write(rep.Summary()); err != nil {
		return err
	}
	return s.next().ClassDone(class, rep)
}

func (s *ReportMapsSink) End(rep *MapsReport) error {
	err := s.next().End(rep)
	if len(rep.Classes) > 0 {
		if err2 := s.Report.Write(rep.Summary()); err == nil {
			err = err2
		}
	}
	return err
}

// NopMapsSink does nothing; embed it in a MapsSink that needs only some of the methods.
type NopMapsSink struct{}

func (NopMapsSink) Warn(string)                         {}
func (NopMapsSink) Begin(*MapsReport, int)              {}
func (NopMapsSink) ClassStart(int, string)              {}
func (NopMapsSink) Map(string)                          {}
func (NopMapsSink) ClassDone(string, *MapsReport) error { return nil }
func (NopMapsSink) End(*MapsReport) error               { return nil }

// MapSizeError is a map whose size is not its ground truth's (without Resize).
type MapSizeError struct {
	Map, GroundTruth string
	W, H             int // the map's size
	GTW, GTH         int // the ground truth's size
}

func (e *MapSizeError) Error() string {
	return fmt.Sprintf("map %s is %d×%d but its ground truth %s is %d×%d", e.Map, e.W, e.H, e.GroundTruth, e.GTW, e.GTH)
}

// Maps evaluates anomaly maps written by any tool against the ground truth of ds: per
// class, the image metrics from the image scores (each map's maximum, or opts.Scores)
// and the pixel metrics from the maps and masks at the ground truth's size, with every
// threshold exact (spec §10); and their mean. Every map is found (and every score,
// with opts.Scores) before any is read, so that a missing one fails at once. Test
// images that the data set reader left out (no ground truth) are in
// MapsReport.LeftOut. Cancelling ctx stops after the current map. sink may be nil.
func Maps(ctx context.Context, ds *data.Dataset, opts MapsOptions, sink MapsSink) (*MapsReport, error) {
	if sink == nil {
		sink = NopMapsSink{}
	}
	if opts.ProLimit == 0 {
		opts.ProLimit = DefaultProLimit
	}
	var err error
	if opts.PRO, err = ParsePRO(string(opts.PRO)); err != nil {
		return nil, err
	}
	r, err := newMapsRun(ds, opts, sink)
	if err != nil {
		return nil, err
	}
	sink.Begin(r.rep, r.total)
	err = r.classes(ctx)
	r.rep.Mean = metrics.Mean(r.rep.Classes)
	if err2 := sink.End(r.rep); err2 != nil && err == nil {
		err = err2
	}
	return r.rep, err
}

// mapsRun is the state of one Maps.
type mapsRun struct {
	ds     *data.Dataset
	opts   MapsOptions
	sink   MapsSink
	rep    *MapsReport
	scores map[string]float64 // by test image path, with opts.Scores
	jobs   [][]*mapJob        // per class
	total  int
	cm     *classMetrics
}

// newMapsRun finds every map (and score) and says what is left out or ignored.
func newMapsRun(ds *data.Dataset, opts MapsOptions, sink MapsSink) (*mapsRun, error) {
	r := &mapsRun{ds: ds, opts: opts, sink: sink, cm: newClassMetrics(opts.PRO),
		rep: &MapsReport{Data: ds.Root, Format: ds.Format, Maps: opts.Maps, ProLimit: opts.ProLimit, PRO: opts.PRO,
			ImageScore: "map maximum", MapFiles: map[mapio.Source]int{}}}
	for _, p := range ds.Problems() {
		r.rep.LeftOut = append(r.rep.LeftOut, p.Error())
	}
	if n := len(r.rep.LeftOut); n > 0 {
		sink.Warn(fmt.Sprintf("%d test images left out by the data set reader (no ground truth), e.g. %s", n, r.rep.LeftOut[0]))
	}
	if opts.Scores != "" {
		var err error
		if r.scores, err = readScoresCSV(opts.Scores, ds, sink.Warn); err != nil {
			return nil, err
		}
		r.rep.ImageScore = "CSV " + opts.Scores
	}
	used, err := r.find()
	if err != nil {
		return nil, err
	}
	if err := r.checkScores(); err != nil {
		return nil, err
	}
	if extra := extraMaps(opts.Maps, ds, used); len(extra) > 0 {
		sink.Warn(fmt.Sprintf("%d map files match no test image and are ignored, e.g. %s", len(extra), extra[0]))
	}
	return r, nil
}

// shown is how many paths an error lists at most.
const shown = 10

// find locates every test image's map and returns the map files used.
func (r *mapsRun) find() (map[string]bool, error) {
	r.jobs = make([][]*mapJob, len(r.ds.Classes))
	used := map[string]bool{}
	var missing []string
	for ci, c := range r.ds.Classes {
		for _, s := range c.Test {
			p, err := mapio.Find(r.opts.Maps, c.Name, s.DefectType, s.Path)
			if err != nil {
				missing = append(missing, p)
				continue
			}
			used[p] = true
			r.jobs[ci] = append(r.jobs[ci], &mapJob{sample: s, mapPath: p, ready: make(chan struct{})})
			r.total++
		}
	}
	switch {
	case len(missing) > 0 && r.opts.SkipMissing:
		r.rep.NoMap = missing
		r.sink.Warn(fmt.Sprintf("%d test images have no map and are left out, e.g. %s", len(missing), missing[0]))
	case len(missing) > 0:
		return nil, fmt.Errorf("%d test images have no map under %s, e.g.:\n  %s",
			len(missing), r.opts.Maps, strings.Join(missing[:min(shown, len(missing))], "\n  "))
	}
	return used, nil
}

// checkScores checks that every image evaluated has a score, with opts.Scores.
func (r *mapsRun) checkScores() error {
	if r.scores == nil {
		return nil
	}
	var noScore []string
	for _, cj := range r.jobs {
		for _, j := range cj {
			if _, ok := r.scores[j.sample.Path]; !ok {
				noScore = append(noScore, j.sample.Path)
			}
		}
	}
	if len(noScore) > 0 {
		return fmt.Errorf("scores %s has no score for %d test images, e.g.:\n  %s",
			r.opts.Scores, len(noScore), strings.Join(noScore[:min(shown, len(noScore))], "\n  "))
	}
	return nil
}

func (r *mapsRun) classes(ctx context.Context) error {
	for ci, c := range r.ds.Classes {
		r.sink.ClassStart(ci, c.Name)
		cr, err := r.class(ctx, ci)
		if err != nil {
			return err
		}
		r.rep.Classes = append(r.rep.Classes, cr)
		if err := r.sink.ClassDone(c.Name, r.rep); err != nil {
			return err
		}
	}
	return nil
}

// class reads the maps and ground truth of class ci (two readers work ahead of the
// accumulator, at most four maps in memory) and computes its metrics.
func (r *mapsRun) class(ctx context.Context, ci int) (metrics.ClassResult, error) {
	jobs := r.jobs[ci]
	slots, stop := readAhead(jobs, r.opts.Resize)
	defer stop()
	r.cm.reset()
	for i, j := range jobs {
		<-j.ready
		<-slots
		if j.err != nil {
			return metrics.ClassResult{}, j.err
		}
		if err := ctx.Err(); err != nil {
			return metrics.ClassResult{}, err
		}
		if i == 0 {
			r.cm.reserve(len(jobs) * j.w * j.h)
		}
		if err := r.cm.addPixels(j.w, j.h, j.pix, j.mask); err != nil {
			return metrics.ClassResult{}, fmt.Errorf("%s: %w", j.mapPath, err)
		}
		score := float64(j.max)
		if r.scores != nil {
			score = r.scores[j.sample.Path]
		}
		r.cm.addImage(score, j.sample.Anomalous)
		r.rep.MapFiles[j.src]++
		if j.resized {
			r.rep.Resized++
		}
		if qs, ok := r.sink.(MapQuerySink); ok {
			if err := qs.MapQuery(&MapQuery{Class: r.ds.Classes[ci].Name, Sample: j.sample, Map: j.mapPath, Score: score,
				W: j.w, H: j.h, Pixels: j.pix, Mask: j.mask}); err != nil {
				return metrics.ClassResult{}, err
			}
		}
		j.pix, j.mask = nil, nil
		r.sink.Map(j.mapPath)
	}
	return r.cm.result(r.ds.Classes[ci].Name, r.opts.ProLimit)
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

// readAhead starts two readers of jobs, in order. slots holds a token for each job
// read and not yet consumed (at most four): the consumer takes one after each job's
// ready. stop ends the readers.
func readAhead(jobs []*mapJob, resize bool) (slots chan struct{}, stop func()) {
	slots = make(chan struct{}, 4)
	next := make(chan *mapJob)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for j := range next {
				readMapJob(j, resize)
				close(j.ready)
			}
		})
	}
	go func() {
		defer close(next)
		for _, j := range jobs {
			select {
			case slots <- struct{}{}:
			case <-done:
				return
			}
			select {
			case next <- j:
			case <-done:
				return
			}
		}
	}()
	return slots, func() { close(done); wg.Wait() }
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
		j.err = fmt.Errorf("map %s has NaN values", j.mapPath)
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
		j.err = fmt.Errorf("anomalous test image %s has no mask", s.Path)
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
			j.err = &MapSizeError{Map: j.mapPath, GroundTruth: gt, W: m.W, H: m.H, GTW: j.w, GTH: j.h}
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
