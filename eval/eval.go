package eval

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/featcache"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/metrics"
)

// DefaultProLimit is the false-positive-rate limit of AU-PRO (spec §10: AU-PRO@0.3).
const DefaultProLimit = 0.3

// Options configure Run.
type Options struct {
	// NShot and AShot are the normal and abnormal references per class (0 allowed,
	// not both). AShot > 0 needs a detector with a head.
	NShot, AShot int
	// Setting is data.General (the default when empty) or data.Hard.
	Setting data.Setting
	// Seed draws the references (data.NewEpisode) when Refs is "".
	Seed uint64
	// Refs is a fixed reference-set root (data.ReadRefSet: REFROOT/<dataset>/<class>/
	// {normal,abnormal}); "" draws the references with Seed.
	Refs string
	// KeepRefs keeps the references among the queries (the protocol of the authors'
	// released MVTec and MPDD logs); by default the test images identical to the
	// references are removed.
	KeepRefs bool
	// Exclude are test images left out of the queries: paths absolute or relative to
	// the data set's root (ReadPathList reads a list of them).
	Exclude []string
	// Warn, when set, is given each warning of the data set and the episodes (masks
	// paired by position, references repeated or matching no test image) as Run
	// records it in Report.Warnings.
	Warn func(msg string)
	// StopOnError ends the run at the first bad image (a *BadImageError) instead of
	// leaving it out.
	StopOnError bool
	// ProLimit is the FPR limit of AU-PRO; 0 means DefaultProLimit.
	ProLimit float64
	// PRO selects the PRO metrics: PROBoth (the default when ""), PROMVTec or
	// PROAuthors.
	PRO PRO
	// Backbone and Head name the detector's weight files in the report (Run records
	// the SHA-256 of Backbone as Report.BackboneID); they change nothing else.
	Backbone, Head string
}

// Report is the outcome of a run, as metrics.json holds it: the settings, the
// episodes, the images left out and the metrics of every class and their mean.
type Report struct {
	Data       string                `json:"data"`
	Format     string                `json:"format"`
	Backbone   string                `json:"backbone"`
	BackboneID string                `json:"backbone_sha256"`
	Head       string                `json:"head"` // "" for normal-only
	Mode       string                `json:"mode"` // "IDEAL" or "normal-only" (AShot = 0)
	NShot      int                   `json:"n_shot"`
	AShot      int                   `json:"a_shot"`
	Setting    string                `json:"setting"`
	Size       int                   `json:"size"`
	Seed       uint64                `json:"seed"`
	Refs       string                `json:"refs,omitempty"`
	KeepRefs   bool                  `json:"keep_refs,omitempty"`
	Excluded   int                   `json:"excluded,omitempty"`
	PixelMaps  string                `json:"pixel_maps"` // how the pixel maps were made
	ProLimit   float64               `json:"pro_limit"`
	PRO        PRO                   `json:"pro"`               // the PRO metrics computed and shown
	Episodes   []string              `json:"episodes"`          // data.Episode.Describe of each class begun
	Skipped    []string              `json:"skipped,omitempty"` // "PATH: reason" of each image left out
	Warnings   []string              `json:"warnings,omitempty"`
	CacheHits  int                   `json:"cache_hits"`   // features taken from a cache
	CacheMiss  int                   `json:"cache_misses"` // features the backbone computed
	Seconds    float64               `json:"seconds"`
	Classes    []metrics.ClassResult `json:"classes"` // the classes finished, in order
	Mean       metrics.MeanResult    `json:"mean"`
}

// Query is a scored query as a Sink sees it.
type Query struct {
	Class  string
	Sample data.Sample
	Result *ideal.Result
	// Pixels is the S×S pixel map of spec §7 (Result.PixelMap) that the metrics used.
	Pixels []float32
	// Mask is the ground truth resized to S×S (nearest), as the metrics used it; nil
	// for a normal query.
	Mask []bool
}

// Sink follows a run: progress, and whatever is written of it. Run calls its methods
// from its own goroutine, in this order: Begin; Skipped for the images the data set
// left out; for each class ClassStart, then Query or Skipped for each query, then
// ClassDone; End last, however the run ends (after Begin). An error from Query,
// ClassDone or End ends the run with that error.
type Sink interface {
	// Begin gives the report (settings filled, no class yet) and every class's episode.
	Begin(rep *Report, eps []*data.Episode)
	// ClassStart: the episode of class i (0-based) begins.
	ClassStart(i int, ep *data.Episode)
	// Query: a query was scored.
	Query(q *Query) error
	// Skipped: an image (or "class NAME", for a class whose references are bad) was
	// left out, for the reason given; it is in rep.Skipped too.
	Skipped(path, reason string)
	// ClassDone: the class's episode ended; evaluated is false when the class was
	// left out (its references are bad). rep holds the classes finished so far.
	ClassDone(ep *data.Episode, rep *Report, evaluated bool) error
	// End: the run ends; rep holds the classes finished.
	End(rep *Report) error
}

// NopSink does nothing; embed it in a Sink that needs only some of the methods.
type NopSink struct{}

func (NopSink) Begin(*Report, []*data.Episode)               {}
func (NopSink) ClassStart(int, *data.Episode)                {}
func (NopSink) Query(*Query) error                           { return nil }
func (NopSink) Skipped(string, string)                       {}
func (NopSink) ClassDone(*data.Episode, *Report, bool) error { return nil }
func (NopSink) End(*Report) error                            { return nil }

// BadImageError ends a run with Options.StopOnError at the first bad image.
type BadImageError struct {
	Path, Reason string
}

func (e *BadImageError) Error() string {
	return "stopped at the first bad image: " + e.Path + ": " + e.Reason
}

// Unwrap returns ideal.ErrBadInput.
func (e *BadImageError) Unwrap() error { return ideal.ErrBadInput }

// StoppedError is the error of a run that ended before its last class (cancelled,
// or a bad image with StopOnError): the report holds the Done classes finished
// before, of Of. It wraps the cause: ctx.Err() (and the context's cause when it has
// another) or a *BadImageError.
type StoppedError struct {
	Done, Of int
	Err      error
}

func (e *StoppedError) Error() string {
	return fmt.Sprintf("%v (after %d of %d classes)", e.Err, e.Done, e.Of)
}

func (e *StoppedError) Unwrap() error { return e.Err }

// Run evaluates det on every class of ds: one episode per class (data.Episodes:
// references fixed by opts.Refs or drawn with opts.Seed), every query scored by
// Episode.Score, and the class's metrics (spec §10) from the image scores and the
// pixel maps of spec §7 (Result.PixelMap) against the masks resized to S×S (nearest).
//
// A bad image (unreadable, corrupt, an anomalous image without a usable mask, features
// or maps that are not finite: an error wrapping ideal.ErrBadInput) is left out and
// recorded in Report.Skipped with the reason; a class whose references are bad is
// left out as a whole. With opts.StopOnError the first one ends the run instead.
// Cancelling ctx stops after the current image. A run that ends early returns the
// report of the classes finished before and a *StoppedError; other errors (a backend
// failure, a sink's error) end the run too. sink may be nil.
//
// Report.Warnings holds each class's episode warnings (ideal.Episode.Warnings: an
// empty mask, a mask of every pixel), prefixed with the class. The detector gives
// them, and what it works around in its feature cache, to its own Options.Warn too.
func Run(ctx context.Context, det *ideal.Detector, ds *data.Dataset, opts Options, sink Sink) (*Report, error) {
	if sink == nil {
		sink = NopSink{}
	}
	r, err := newRun(det, ds, opts, sink)
	if err != nil {
		return nil, err
	}
	sink.Begin(r.rep, r.eps)
	err = r.all(ctx)
	r.update()
	if err2 := sink.End(r.rep); err2 != nil && err == nil {
		err = err2
	}
	return r.rep, err
}

// run is the state of one Run.
type run struct {
	det    *ideal.Detector
	ds     *data.Dataset
	opts   Options
	sink   Sink
	eps    []*data.Episode
	rep    *Report
	start  time.Time
	stats0 ideal.Stats
	cm     *classMetrics
}

func newRun(det *ideal.Detector, ds *data.Dataset, opts Options, sink Sink) (*run, error) {
	if opts.Setting == "" {
		opts.Setting = data.General
	}
	if opts.ProLimit == 0 {
		opts.ProLimit = DefaultProLimit
	}
	var err error
	if opts.PRO, err = ParsePRO(string(opts.PRO)); err != nil {
		return nil, err
	}
	if opts.AShot > 0 && det.HeadWeights() == nil {
		return nil, fmt.Errorf("%d abnormal references per class need a detector with a head (ideal.Options.Head)", opts.AShot)
	}
	var refs map[string]*data.Refs
	if opts.Refs != "" {
		var err error
		if refs, err = data.ReadRefSet(opts.Refs, data.RefSetNames(ds)...); err != nil {
			return nil, err
		}
	}
	exclude, err := excludeSet(ds.Root, opts.Exclude)
	if err != nil {
		return nil, err
	}
	eps, err := data.Episodes(ds, refs, data.EpisodeOptions{NShot: opts.NShot, AShot: opts.AShot, Setting: opts.Setting, Seed: opts.Seed,
		KeepRefs: opts.KeepRefs, Exclude: exclude})
	if err != nil {
		return nil, err
	}
	r := &run{det: det, ds: ds, opts: opts, sink: sink, eps: eps, start: time.Now(), stats0: det.Stats(),
		cm: newClassMetrics(opts.PRO)}
	r.rep = r.header()
	r.protocolWarnings(exclude)
	if opts.Backbone != "" {
		if r.rep.BackboneID, err = featcache.BackboneID(opts.Backbone); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// header is the report before any class: the settings.
func (r *run) header() *Report {
	s, o := r.det.Size(), r.opts
	rep := &Report{Data: r.ds.Root, Format: r.ds.Format, Backbone: o.Backbone, Head: o.Head, Mode: "IDEAL",
		NShot: o.NShot, AShot: o.AShot, Setting: string(o.Setting), Size: s, Seed: o.Seed, Refs: o.Refs, KeepRefs: o.KeepRefs,
		PixelMaps: fmt.Sprintf("A up-sampled bilinearly to %d×%d, Gaussian σ=%d (truncate 4σ, reflect); masks resized to %d×%d (nearest)", s, s, ideal.Sigma, s, s),
		ProLimit:  o.ProLimit, PRO: o.PRO}
	if o.AShot == 0 {
		rep.Mode = "normal-only"
	}
	return rep
}

// update brings the report's mean, cache counts and time up to date.
func (r *run) update() {
	st := r.det.Stats()
	r.rep.Mean = metrics.Mean(r.rep.Classes)
	r.rep.CacheHits = st.DiskHits + st.MemoryHits - r.stats0.DiskHits - r.stats0.MemoryHits
	r.rep.CacheMiss = st.Forwards - r.stats0.Forwards
	r.rep.Seconds = time.Since(r.start).Seconds()
}

// all runs every class. A *stopError ends the run as a *StoppedError.
func (r *run) all(ctx context.Context) error {
	err := r.classes(ctx)
	var stop *stopError
	if errors.As(err, &stop) {
		return &StoppedError{Done: len(r.rep.Classes), Of: len(r.eps), Err: stop.err}
	}
	if err == nil && len(r.rep.Classes) == 0 {
		return fmt.Errorf("no class could be evaluated: %s", strings.Join(r.rep.Skipped, "; "))
	}
	return err
}

func (r *run) classes(ctx context.Context) error {
	for _, p := range r.ds.Problems() {
		if err := r.skip(p.Path, p.Err); err != nil {
			return err
		}
	}
	for i, ep := range r.eps {
		if err := r.cancelled(ctx); err != nil {
			return err
		}
		r.sink.ClassStart(i, ep)
		r.rep.Episodes = append(r.rep.Episodes, ep.Describe())
		cr, err := r.class(ctx, ep)
		var bad *classError
		if errors.As(err, &bad) {
			// A class whose references cannot be used is left out; the others go on.
			if err := r.skip("class "+ep.Class, bad.err); err != nil {
				return err
			}
			if err := r.sink.ClassDone(ep, r.rep, false); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		r.rep.Classes = append(r.rep.Classes, cr)
		r.update()
		if err := r.sink.ClassDone(ep, r.rep, true); err != nil {
			return err
		}
	}
	return nil
}

// cancelled returns a *stopError when ctx is done: ctx.Err(), and the context's cause
// too when it is another error.
func (r *run) cancelled(ctx context.Context) error {
	err := ctx.Err()
	if err == nil {
		return nil
	}
	if cause := context.Cause(ctx); cause != nil && cause != err {
		err = fmt.Errorf("%w: %w", err, cause)
	}
	return &stopError{err}
}

// skip records a bad image; with StopOnError it returns the *stopError that ends the run.
func (r *run) skip(path string, err error) error {
	reason := strings.TrimPrefix(err.Error(), path+": ") // the path once is enough
	r.rep.Skipped = append(r.rep.Skipped, path+": "+reason)
	r.sink.Skipped(path, reason)
	if r.opts.StopOnError {
		return &stopError{&BadImageError{Path: path, Reason: reason}}
	}
	return nil
}

// class runs one class's episode and returns its metrics.
func (r *run) class(ctx context.Context, ep *data.Episode) (metrics.ClassResult, error) {
	var cr metrics.ClassResult
	e, err := r.det.Episode(ctx, episodeRefs(ep))
	if err != nil {
		if err := r.cancelled(ctx); err != nil {
			return cr, err
		}
		if errors.Is(err, ideal.ErrBadInput) {
			return cr, &classError{err}
		}
		return cr, fmt.Errorf("class %s: %w", ep.Class, err)
	}
	defer e.Close()
	for _, w := range e.Warnings() {
		r.rep.Warnings = append(r.rep.Warnings, fmt.Sprintf("class %s: %s", ep.Class, w))
	}
	r.cm.reset()
	for _, s := range ep.Queries {
		if err := r.cancelled(ctx); err != nil {
			return cr, err
		}
		q, err := r.query(ctx, e, ep.Class, s)
		if err != nil {
			return cr, err
		}
		if q == nil {
			continue // left out
		}
		if err := r.sink.Query(q); err != nil {
			return cr, err
		}
		r.cm.addImage(float64(q.Result.ImageScore), s.Anomalous)
	}
	return r.cm.result(ep.Class, r.opts.ProLimit)
}

// query scores one query and adds its pixel map to the class's accumulator. A bad
// image gives (nil, nil) when it is left out.
func (r *run) query(ctx context.Context, e *ideal.Episode, class string, s data.Sample) (*Query, error) {
	res, err := e.Score(ctx, ideal.File(s.Path))
	if err != nil {
		if err := r.cancelled(ctx); err != nil {
			return nil, err
		}
		if !errors.Is(err, ideal.ErrBadInput) {
			return nil, err
		}
		return nil, r.skip(s.Path, err)
	}
	res.Image = nil // a sink that needs the image decodes it again
	var mask []bool
	if s.Anomalous {
		m, err := queryMask(s, res)
		if err != nil {
			return nil, r.skip(s.Path, err)
		}
		mask = m.Pix
	}
	pix := res.PixelMap()
	if err := r.cm.addPixels(res.Side, res.Side, pix, mask); err != nil {
		return nil, r.skip(s.Path, err)
	}
	return &Query{Class: class, Sample: s, Result: res, Pixels: pix, Mask: mask}, nil
}

// queryMask reads an anomalous query's ground truth, checks it against the image's
// size and resizes it to S×S (imaging.Mask.Prepare, the one mask step).
func queryMask(s data.Sample, res *ideal.Result) (*imaging.Mask, error) {
	m, err := imaging.ReadMask(s.MaskPath)
	if err != nil {
		return nil, err
	}
	if res.W > 0 {
		if err := imaging.CheckMaskSize(res.W, res.H, m.W, m.H); err != nil {
			return nil, fmt.Errorf("%w (mask %s)", err, s.MaskPath)
		}
	}
	sm, _, err := m.Prepare(res.Side, res.Side/res.Grid)
	return sm, err
}

// episodeRefs are the references of a class's episode.
func episodeRefs(ep *data.Episode) ideal.Refs {
	var refs ideal.Refs
	for _, s := range ep.Normal {
		refs.Normal = append(refs.Normal, ideal.File(s.Path))
	}
	for _, s := range ep.Abnormal {
		refs.Abnormal = append(refs.Abnormal, ideal.Abnormal{Input: ideal.File(s.Path), MaskPath: s.MaskPath})
	}
	return refs
}

// classError is a problem with a class's references: the class is left out.
type classError struct{ err error }

func (e *classError) Error() string { return e.err.Error() }

// stopError ends the run early (StopOnError, cancellation): the class under way is
// dropped and the finished ones are reported.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }
