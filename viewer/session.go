package viewer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/kernels"
)

// Ref is an abnormal reference: an image or features file and its defect mask.
type Ref struct{ Path, Mask string }

// Inputs are what a Session scores, with the meanings of `ideal score`'s flags:
// every reference and query is an image or a features file written by `ideal
// features`; Backbone is needed only when some input is an image, Head only with
// abnormal references. QueryMasks, when not nil, holds each query's ground-truth
// mask ("" for none). Cache, when set, is a feature cache folder (featcache, as
// `ideal eval` keeps one): an image's features are taken from it when there, and put
// there when computed. Backend, when not nil, runs every op (it stays the caller's to
// close; see ideal.OpenBackend); nil means a CPU backend of the session's own.
type Inputs struct {
	Backbone, Head string
	Cache          string
	Size           int
	Normal         []string
	Abnormal       []Ref
	Queries        []string
	QueryMasks     []string
	Backend        kernels.Backend
}

// Reference is a reference as the panel shows it.
type Reference struct {
	Path     string
	Abnormal bool
	Index    int           // among the normal or the abnormal references
	Image    *imaging.RGB  // nil for a features file
	Mask     *imaging.Mask // abnormal: the mask in use (edited or as read)
	MaskPath string        // abnormal: the mask file
	Edited   bool          // the mask differs from the file's
}

// Progress is what the background work is doing.
type Progress struct {
	Busy        bool     // work is queued or running
	Stage       string   // what runs now, or "done" / "error"
	Done, Total int      // queries scored in this pass, of all
	Pass        int      // passes run: 1 is the first scoring (0 for preloaded results), each mask edit starts another
	Err         error    // why the last pass stopped (shown in the window)
	Warnings    []string // the head's (e.g. an abnormal mask covering no patch)
}

// memoryBudget bounds the detector's memory cache of features and decoded images, in
// bytes: a mask edit then re-scores an episode of a few hundred 448-pixel ViT-S images
// without a backbone pass.
const memoryBudget = 1 << 30

// shared is what the sessions of one results folder share: the backend and one
// ideal.Detector per set of weights (each loaded once, its features cached in memory),
// made on first need (a failed one is tried again). The last session closed closes them.
type shared struct {
	be     kernels.Backend
	ownsBE bool
	mu     sync.Mutex
	dets   map[detKey]*ideal.Detector
	users  int
}

type detKey struct {
	backbone, head, cache string
	size                  int
}

// newShared runs on be, or (nil) on a CPU backend of its own using all cores but one,
// so the window stays responsive.
func newShared(be kernels.Backend) *shared {
	sh := &shared{be: be, dets: map[detKey]*ideal.Detector{}}
	if be == nil {
		sh.be, sh.ownsBE = cpu.New(cpu.WithThreads(max(1, runtime.GOMAXPROCS(0)-1))), true
	}
	return sh
}

// detector returns the detector of in's weights, size and feature cache.
func (sh *shared) detector(in Inputs) (*ideal.Detector, error) {
	k := detKey{in.Backbone, in.Head, in.Cache, in.Size}
	if in.Backbone == "" {
		k.cache = "" // a feature cache is keyed by the backbone's file
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if d, ok := sh.dets[k]; ok {
		return d, nil
	}
	d, err := ideal.New(ideal.Options{Backbone: k.backbone, Head: k.head, Cache: k.cache, Size: k.size,
		Backend: sh.be, MemoryCache: memoryBudget})
	if err != nil {
		return nil, err
	}
	sh.dets[k] = d
	return d, nil
}

func (sh *shared) use() {
	sh.mu.Lock()
	sh.users++
	sh.mu.Unlock()
}

// release ends a session's use; the last one closes the detectors and the backend.
func (sh *shared) release() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.users--; sh.users > 0 {
		return
	}
	for k, d := range sh.dets {
		d.Close()
		delete(sh.dets, k)
	}
	if sh.ownsBE {
		sh.be.Close()
		sh.ownsBE = false
	}
}

// Session scores queries against references in the background, through package ideal:
// one ideal.Detector (shared by the sessions of a results folder) gives each input's
// features once and keeps them in memory, an ideal.Episode is prepared per set of masks
// and every query scored with Episode.Score. SetMask replaces an abnormal reference's
// mask and re-scores without running the backbone again; a pass still running is
// cancelled (its context) by a newer SetMask. The window polls Progress and Results;
// nothing it calls blocks on the work.
type Session struct {
	in        Inputs
	sh        *shared
	ref       []Reference // normal then abnormal; images and original masks read by Open
	preloaded bool
	readOnly  string   // why SetMask cannot re-score ("" when it can)
	names     []string // the queries' display names (queryNames)

	// Owned by the worker goroutine.
	det         *ideal.Detector
	images      map[string]*imaging.RGB // query images read for display (features from the disk cache come without)
	gtMasks     map[string]*imaging.Mask
	featureRuns int // backbone forwards so far (from det.Stats)
	cacheHits   int // images whose features came from a cache, on disk (Inputs.Cache) or in memory

	wake      chan struct{}
	ctx       context.Context // cancelled by Close
	stop      context.CancelFunc
	closeOnce sync.Once
	exit      sync.WaitGroup

	mu         sync.Mutex
	cond       *sync.Cond
	masks      []*imaging.Mask    // current masks of the abnormal references
	gen        int                // bumped by every SetMask (and Start)
	finished   int                // the gen the last pass completed (or failed) for
	cancelPass context.CancelFunc // cancels the pass running now
	results    []*Query           // by query, nil until scored
	version    int                // bumped whenever results change
	progress   Progress
	saved      map[int]string // abnormal index → the file its edits are saved to
}

// Open checks the inputs (flags, files exist, masks readable and sized like their
// images) and reads the references' images and masks, so the window can show them at
// once; nothing is computed until Start. Its errors are the ones to report before a
// window opens.
func Open(in Inputs) (*Session, error) { return open(in, true, newShared(in.Backend)) }

// open is Open; when not strict (a results folder), what only re-scoring needs (the
// backbone, the head, the abnormal masks) may be missing: the session is then
// read-only and ReadOnly says why.
func open(in Inputs, strict bool, sh *shared) (*Session, error) {
	var readOnly []string
	need := func(err error) error {
		if strict {
			return err
		}
		readOnly = append(readOnly, strings.TrimPrefix(err.Error(), "viewer: "))
		return nil
	}
	if err := check(in, need); err != nil {
		return nil, err
	}
	s := &Session{in: in, sh: sh,
		images: map[string]*imaging.RGB{}, gtMasks: map[string]*imaging.Mask{}, wake: make(chan struct{}, 1),
		results: make([]*Query, len(in.Queries)), saved: map[int]string{}, names: queryNames(in.Queries)}
	s.ctx, s.stop = context.WithCancel(context.Background())
	s.cond = sync.NewCond(&s.mu)
	if err := s.readRefs(need); err != nil {
		return nil, err
	}
	if len(readOnly) > 0 {
		s.readOnly = "viewer: cannot re-score: " + strings.Join(readOnly, "; ")
	}
	sh.use()
	return s, nil
}

// check checks the inputs; need is given what only re-scoring needs.
func check(in Inputs, need func(error) error) error {
	switch {
	case len(in.Queries) == 0:
		return errors.New("viewer: no query given")
	case len(in.Normal)+len(in.Abnormal) == 0:
		return errors.New("viewer: give at least one normal or abnormal reference")
	case in.Size <= 0:
		return fmt.Errorf("viewer: input size %d must be positive", in.Size)
	case in.QueryMasks != nil && len(in.QueryMasks) != len(in.Queries):
		return fmt.Errorf("viewer: %d query masks for %d queries", len(in.QueryMasks), len(in.Queries))
	}
	paths := slices.Concat(in.Normal, in.Queries, refPaths(in.Abnormal))
	for _, p := range in.QueryMasks {
		if p != "" {
			paths = append(paths, p)
		}
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("viewer: %w", err)
		}
	}
	if len(in.Abnormal) > 0 && in.Head == "" {
		if err := need(errors.New("viewer: abnormal references need the head's weights (--head)")); err != nil {
			return err
		}
	}
	for _, p := range []string{in.Backbone, in.Head} {
		if _, err := os.Stat(p); p != "" && err != nil {
			if err := need(fmt.Errorf("viewer: %w", err)); err != nil {
				return err
			}
		}
	}
	if in.Backbone == "" {
		for _, p := range slices.Concat(in.Normal, in.Queries, refPaths(in.Abnormal)) {
			if !ideal.IsFeaturesFile(p) {
				return need(fmt.Errorf("viewer: %s is an image: the backbone's weights (--backbone) are needed to compute its features", p))
			}
		}
	}
	return nil
}

// readRefs reads the references' images and the abnormal ones' masks, for display.
func (s *Session) readRefs(need func(error) error) error {
	image := func(p, what string) (*imaging.RGB, error) {
		if ideal.IsFeaturesFile(p) {
			return nil, nil
		}
		img, err := imaging.LoadRGB(p)
		if err != nil {
			return nil, fmt.Errorf("viewer: %s reference: %w", what, err)
		}
		return img, nil
	}
	for i, p := range s.in.Normal {
		img, err := image(p, "normal")
		if err != nil {
			return err
		}
		s.ref = append(s.ref, Reference{Path: p, Index: i, Image: img})
	}
	for i, a := range s.in.Abnormal {
		img, err := image(a.Path, "abnormal")
		if err != nil {
			return err
		}
		r := Reference{Path: a.Path, Abnormal: true, Index: i, MaskPath: a.Mask, Image: img}
		if a.Mask == "" {
			if err := need(fmt.Errorf("viewer: abnormal reference %s has no mask", a.Path)); err != nil {
				return err
			}
		} else {
			m, err := imaging.ReadMask(a.Mask)
			if err != nil {
				return fmt.Errorf("viewer: %w", err)
			}
			if img != nil {
				if err := imaging.CheckMaskSize(img.W, img.H, m.W, m.H); err != nil {
					return fmt.Errorf("viewer: %s (for %s): %w", a.Mask, a.Path, err)
				}
			}
			r.Mask = m
		}
		s.masks = append(s.masks, r.Mask)
		s.ref = append(s.ref, r)
	}
	return nil
}

func refPaths(refs []Ref) []string {
	var out []string
	for _, r := range refs {
		out = append(out, r.Path)
	}
	return out
}

// ReadOnly says why the session cannot re-score ("" when it can).
func (s *Session) ReadOnly() string { return s.readOnly }

// queryNames names queries by their base names without extension, or, when two share
// one (test/crack/000.png, test/good/000.png), all of them with their folder
// (crack/000, good/000, good/001), so the names read alike.
func queryNames(paths []string) []string {
	base := func(p string) string { return strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)) }
	seen := map[string]bool{}
	clash := false
	for _, p := range paths {
		clash = clash || seen[base(p)]
		seen[base(p)] = true
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = base(p)
		if d := filepath.Base(filepath.Dir(p)); clash && d != "." && d != string(filepath.Separator) {
			out[i] = d + "/" + out[i]
		}
	}
	return out
}

// Start starts the background work: the first scoring, unless Preload gave the
// results.
func (s *Session) Start() {
	s.exit.Add(1)
	go s.worker()
	if !s.preloaded {
		s.request()
	}
}

// Preload installs already computed results (from a results folder): the session then
// computes nothing (not even features) until the first SetMask. Call it before Start.
func (s *Session) Preload(qs []*Query) {
	if len(qs) != len(s.in.Queries) {
		panic("viewer: Preload needs one result per query")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	copy(s.results, qs)
	s.version++
	s.preloaded = true
	s.progress = Progress{Stage: "done", Done: len(qs), Total: len(qs)}
}

// Close stops the background work and waits for it.
func (s *Session) Close() {
	s.closeOnce.Do(func() {
		s.stop()
		s.exit.Wait()
		s.sh.release()
	})
}

// request queues a pass with the current masks, cancelling the one running.
func (s *Session) request() {
	s.mu.Lock()
	s.gen++
	s.progress.Busy = true
	if s.cancelPass != nil {
		s.cancelPass()
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// References returns the references with their current masks.
func (s *Session) References() []Reference {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.ref)
	for i := range out {
		if out[i].Abnormal {
			out[i].Mask = s.masks[out[i].Index]
			if orig := s.ref[i].Mask; orig != nil && out[i].Mask != orig {
				out[i].Edited = !slices.Equal(out[i].Mask.Pix, orig.Pix)
			}
		}
	}
	return out
}

// SetMask replaces abnormal reference i's mask (sized like the one read) and
// re-scores every query in the background; the previous results stay until replaced.
func (s *Session) SetMask(i int, m *imaging.Mask) error {
	if s.readOnly != "" {
		return errors.New(s.readOnly)
	}
	s.mu.Lock()
	if i < 0 || i >= len(s.masks) {
		s.mu.Unlock()
		return fmt.Errorf("viewer: no abnormal reference %d", i+1)
	}
	if old := s.masks[i]; m.W != old.W || m.H != old.H {
		s.mu.Unlock()
		return fmt.Errorf("viewer: a %d×%d mask for abnormal reference %d, whose mask is %d×%d", m.W, m.H, i+1, old.W, old.H)
	}
	s.masks[i] = cloneMask(m)
	s.mu.Unlock()
	s.request()
	return nil
}

// SaveMask writes abnormal reference i's current mask beside its mask file
// (EditedPath; later saves of the session reuse the name) and returns the path.
func (s *Session) SaveMask(i int) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < 0 || i >= len(s.masks) {
		return "", fmt.Errorf("viewer: no abnormal reference %d", i+1)
	}
	p, ok := s.saved[i]
	if !ok {
		var err error
		if p, err = EditedPath(s.in.Abnormal[i].Mask); err != nil {
			return "", err
		}
	}
	if err := SaveMask(p, s.masks[i]); err != nil {
		return "", err
	}
	s.saved[i] = p
	return p, nil
}

// Progress returns what the background work is doing.
func (s *Session) Progress() Progress {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.progress
	p.Warnings = slices.Clone(p.Warnings)
	return p
}

// Results returns the queries scored so far (in input order; a re-score replaces them
// one by one) and a version that changes whenever they do.
func (s *Session) Results() ([]*Query, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Query
	for _, q := range s.results {
		if q != nil {
			out = append(out, q)
		}
	}
	return out, s.version
}

// Wait blocks until the work queued so far is done and returns the progress.
func (s *Session) Wait() Progress {
	s.mu.Lock()
	for s.finished != s.gen {
		s.cond.Wait()
	}
	s.mu.Unlock()
	return s.Progress()
}

func (s *Session) worker() {
	defer s.exit.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.wake:
		}
		s.mu.Lock()
		gen := s.gen
		if gen == s.finished { // a wake-up left over from requests a finished pass served
			s.mu.Unlock()
			continue
		}
		ctx, cancel := context.WithCancel(s.ctx)
		masks := slices.Clone(s.masks)
		s.cancelPass = cancel
		s.progress.Pass++
		s.progress.Err = nil
		s.progress.Done, s.progress.Total = 0, len(s.in.Queries)
		s.mu.Unlock()
		err := s.pass(ctx, masks)
		s.mu.Lock()
		if s.gen == gen && ctx.Err() == nil { // else the wake-up of the newer request is queued, or the session closed
			s.finished = gen
			s.progress.Busy = false
			if err != nil {
				s.progress.Stage, s.progress.Err = "error", err
			} else {
				s.progress.Stage = "done"
			}
			s.cond.Broadcast()
		}
		s.cancelPass = nil
		s.mu.Unlock()
		cancel()
	}
}

// stage records what the worker does now; it fails when the pass was cancelled.
func (s *Session) stage(ctx context.Context, what string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	s.progress.Stage = what
	return nil
}

// pass prepares the references with masks (an ideal.Episode) and scores every query.
func (s *Session) pass(ctx context.Context, masks []*imaging.Mask) error {
	if s.det == nil {
		if err := s.stage(ctx, "loading the weights"); err != nil {
			return err
		}
		det, err := s.sh.detector(s.in)
		if err != nil {
			return fmt.Errorf("viewer: %w", err)
		}
		s.det = det
	}
	before := s.det.Stats()
	defer func() {
		after := s.det.Stats()
		s.featureRuns += after.Forwards - before.Forwards
		s.cacheHits += after.DiskHits + after.MemoryHits - before.DiskHits - before.MemoryHits
	}()
	if err := s.stage(ctx, "preparing the references"); err != nil {
		return err
	}
	var refs ideal.Refs
	for _, p := range s.in.Normal {
		refs.Normal = append(refs.Normal, ideal.File(p))
	}
	for i, r := range s.in.Abnormal {
		refs.Abnormal = append(refs.Abnormal, ideal.Abnormal{Input: ideal.File(r.Path), Mask: masks[i]})
	}
	ep, err := s.det.Episode(ctx, refs)
	if err != nil {
		return fmt.Errorf("viewer: %w", err)
	}
	defer ep.Close()
	s.mu.Lock()
	s.progress.Warnings = ep.Warnings()
	s.mu.Unlock()
	for i, p := range s.in.Queries {
		if err := s.stage(ctx, "scoring "+filepath.Base(p)); err != nil {
			return err
		}
		q, err := s.score(ctx, ep, i)
		if err != nil {
			return err
		}
		s.mu.Lock()
		if err := ctx.Err(); err != nil {
			s.mu.Unlock()
			return err
		}
		s.results[i] = q
		s.version++
		s.progress.Done = i + 1
		s.mu.Unlock()
	}
	return nil
}

// score scores query i.
func (s *Session) score(ctx context.Context, ep *ideal.Episode, i int) (*Query, error) {
	p := s.in.Queries[i]
	r, err := ep.Score(ctx, ideal.File(p))
	if err != nil {
		return nil, fmt.Errorf("viewer: %w", err)
	}
	q := &Query{Path: p, Name: s.names[i], ImageScore: r.ImageScore, Grid: r.Grid, Image: r.Image}
	q.Maps[MapA], q.Maps[MapSN], q.Maps[MapSA] = r.Map, r.NormalScore, r.DeviationScore
	if q.Image == nil && !ideal.IsFeaturesFile(p) { // features from the disk cache come without their image
		if q.Image = s.images[p]; q.Image == nil {
			if q.Image, err = imaging.LoadRGB(p); err != nil {
				return nil, fmt.Errorf("viewer: query image: %w", err)
			}
			s.images[p] = q.Image
		}
	}
	if q.Mask, err = s.groundTruth(i, q); err != nil {
		return nil, err
	}
	return q, nil
}

// groundTruth reads query i's ground-truth mask (once), checked against its size.
func (s *Session) groundTruth(i int, q *Query) (*imaging.Mask, error) {
	if s.in.QueryMasks == nil || s.in.QueryMasks[i] == "" {
		return nil, nil
	}
	p := s.in.QueryMasks[i]
	if m, ok := s.gtMasks[p]; ok {
		return m, nil
	}
	m, err := imaging.ReadMask(p)
	if err != nil {
		return nil, fmt.Errorf("viewer: ground truth: %w", err)
	}
	if w, h := q.Size(); m.W != w || m.H != h {
		return nil, fmt.Errorf("viewer: ground truth %s is %d×%d, the query %d×%d", p, m.W, m.H, w, h)
	}
	s.gtMasks[p] = m
	return m, nil
}
