package viewer

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/featcache"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
)

// Ref is an abnormal reference: an image or features file and its defect mask.
type Ref struct{ Path, Mask string }

// Inputs are what a Session scores, with the meanings of `ideal score`'s flags:
// every reference and query is an image or a features file written by `ideal
// features`; Backbone is needed only when some input is an image, Head only with
// abnormal references. QueryMasks, when not nil, holds each query's ground-truth
// mask ("" for none). Cache, when set, is a feature cache folder (featcache, as
// `ideal eval` keeps one): an image's features are taken from it when there, and put
// there when computed.
type Inputs struct {
	Backbone, Head string
	Cache          string
	Size           int
	Normal         []string
	Abnormal       []Ref
	Queries        []string
	QueryMasks     []string
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

// input is one loaded input: its patch features and how they map back.
type input struct {
	feats       *tensor.Dense // [N, C]
	image       *imaging.RGB  // nil for a features file
	side, patch int           // S and the patch size the features were computed at
}

// shared is what the sessions of one results folder share: the CPU backend and the
// backbone and head weights, each loaded once (a failed load is tried again).
type shared struct {
	be          *cpu.Backend
	mu          sync.Mutex
	backbones   map[string]*dinov2.Model
	heads       map[string]*head.Weights
	backboneIDs map[string]string // featcache.BackboneID by path ("" when unreadable)
}

func newShared() *shared {
	return &shared{be: cpu.New(cpu.WithThreads(max(1, runtime.GOMAXPROCS(0)-1))),
		backbones: map[string]*dinov2.Model{}, heads: map[string]*head.Weights{}, backboneIDs: map[string]string{}}
}

func (sh *shared) backbone(path string) (*dinov2.Model, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if m, ok := sh.backbones[path]; ok {
		return m, nil
	}
	m, err := dinov2.Load(path, dinov2.Options{})
	if err != nil {
		return nil, err
	}
	sh.backbones[path] = m
	return m, nil
}

// cache returns the feature cache in dir for the backbone at path (its identity, the
// hash of the file, computed once), or nil when dir or path is "" or the backbone
// cannot be read (the features are then computed, as without a cache).
func (sh *shared) cache(dir, path string) *featcache.Cache {
	if dir == "" || path == "" {
		return nil
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	id, ok := sh.backboneIDs[path]
	if !ok {
		id, _ = featcache.BackboneID(path)
		sh.backboneIDs[path] = id
	}
	if id == "" {
		return nil
	}
	return featcache.New(dir, id)
}

func (sh *shared) head(path string) (*head.Weights, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if w, ok := sh.heads[path]; ok {
		return w, nil
	}
	w, err := head.ReadFile(path, "")
	if err != nil {
		return nil, err
	}
	sh.heads[path] = w
	return w, nil
}

// Session scores queries against references in the background on the CPU backend:
// each input's features are computed once and kept, the references are prepared once
// per set of masks (head.Episode) and every query scored against them. SetMask
// replaces an abnormal reference's mask and re-scores without running the backbone
// again. The window polls Progress and Results; nothing it calls blocks on the work.
type Session struct {
	in        Inputs
	sh        *shared
	ref       []Reference // normal then abnormal; images and original masks read by Open
	preloaded bool
	readOnly  string   // why SetMask cannot re-score ("" when it can)
	names     []string // the queries' display names (queryNames)

	// Owned by the worker goroutine.
	backbone    *dinov2.Model
	hw          *head.Weights
	model       *head.Model
	inputs      map[string]*input
	gtMasks     map[string]*imaging.Mask
	featureRuns int // backbone forwards so far
	cacheHits   int // images whose features came from Inputs.Cache

	wake chan struct{}
	quit chan struct{}
	exit sync.WaitGroup

	mu       sync.Mutex
	cond     *sync.Cond
	masks    []*imaging.Mask // current masks of the abnormal references
	gen      int             // bumped by every SetMask (and Start)
	finished int             // the gen the last pass completed (or failed) for
	results  []*Query        // by query, nil until scored
	version  int             // bumped whenever results change
	progress Progress
	saved    map[int]string // abnormal index → the file its edits are saved to
}

// Open checks the inputs (flags, files exist, masks readable and sized like their
// images) and reads the references' images and masks, so the window can show them at
// once; nothing is computed until Start. Its errors are the ones to report before a
// window opens.
func Open(in Inputs) (*Session, error) { return open(in, true, newShared()) }

// open is Open; when not strict (a results folder), what only re-scoring needs (the
// backbone, the head, the abnormal masks) may be missing: the session is then
// read-only and ReadOnly says why.
func open(in Inputs, strict bool, sh *shared) (*Session, error) {
	switch {
	case len(in.Queries) == 0:
		return nil, errors.New("viewer: no query given")
	case len(in.Normal)+len(in.Abnormal) == 0:
		return nil, errors.New("viewer: give at least one normal or abnormal reference")
	case in.Size <= 0:
		return nil, fmt.Errorf("viewer: input size %d must be positive", in.Size)
	case in.QueryMasks != nil && len(in.QueryMasks) != len(in.Queries):
		return nil, fmt.Errorf("viewer: %d query masks for %d queries", len(in.QueryMasks), len(in.Queries))
	}
	var readOnly []string
	need := func(err error) error {
		if strict {
			return err
		}
		readOnly = append(readOnly, strings.TrimPrefix(err.Error(), "viewer: "))
		return nil
	}
	paths := slices.Concat(in.Normal, in.Queries)
	for _, p := range in.QueryMasks {
		if p != "" {
			paths = append(paths, p)
		}
	}
	for _, r := range in.Abnormal {
		paths = append(paths, r.Path)
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("viewer: %w", err)
		}
	}
	if len(in.Abnormal) > 0 && in.Head == "" {
		if err := need(errors.New("viewer: abnormal references need the head's weights (--head)")); err != nil {
			return nil, err
		}
	}
	for _, p := range []string{in.Backbone, in.Head} {
		if _, err := os.Stat(p); p != "" && err != nil {
			if err := need(fmt.Errorf("viewer: %w", err)); err != nil {
				return nil, err
			}
		}
	}
	if in.Backbone == "" {
		for _, p := range slices.Concat(in.Normal, in.Queries, refPaths(in.Abnormal)) {
			if !isFeaturesFile(p) {
				if err := need(fmt.Errorf("viewer: %s is an image: the backbone's weights (--backbone) are needed to compute its features", p)); err != nil {
					return nil, err
				}
				break
			}
		}
	}
	s := &Session{in: in, sh: sh,
		inputs: map[string]*input{}, gtMasks: map[string]*imaging.Mask{},
		wake: make(chan struct{}, 1), quit: make(chan struct{}),
		results: make([]*Query, len(in.Queries)), saved: map[int]string{}, names: queryNames(in.Queries)}
	s.cond = sync.NewCond(&s.mu)
	for i, p := range in.Normal {
		r := Reference{Path: p, Index: i}
		if !isFeaturesFile(p) {
			img, err := imaging.LoadRGB(p)
			if err != nil {
				return nil, fmt.Errorf("viewer: normal reference: %w", err)
			}
			r.Image = img
		}
		s.ref = append(s.ref, r)
	}
	for i, a := range in.Abnormal {
		r := Reference{Path: a.Path, Abnormal: true, Index: i, MaskPath: a.Mask}
		if !isFeaturesFile(a.Path) {
			img, err := imaging.LoadRGB(a.Path)
			if err != nil {
				return nil, fmt.Errorf("viewer: abnormal reference: %w", err)
			}
			r.Image = img
		}
		if a.Mask == "" {
			if err := need(fmt.Errorf("viewer: abnormal reference %s has no mask", a.Path)); err != nil {
				return nil, err
			}
		} else {
			m, err := imaging.ReadMask(a.Mask)
			if err != nil {
				return nil, fmt.Errorf("viewer: %w", err)
			}
			if r.Image != nil {
				if err := imaging.CheckMaskSize(r.Image.W, r.Image.H, m.W, m.H); err != nil {
					return nil, fmt.Errorf("viewer: %s (for %s): %w", a.Mask, a.Path, err)
				}
			}
			r.Mask = m
		}
		s.masks = append(s.masks, r.Mask)
		s.ref = append(s.ref, r)
	}
	if len(readOnly) > 0 {
		s.readOnly = "viewer: cannot re-score: " + strings.Join(readOnly, "; ")
	}
	return s, nil
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

func isFeaturesFile(path string) bool { return strings.EqualFold(filepath.Ext(path), ".safetensors") }

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
	close(s.quit)
	s.exit.Wait()
}

// request queues a pass with the current masks.
func (s *Session) request() {
	s.mu.Lock()
	s.gen++
	s.progress.Busy = true
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

// errStale stops a pass whose masks were replaced meanwhile.
var errStale = errors.New("viewer: masks changed")

func (s *Session) worker() {
	defer s.exit.Done()
	for {
		select {
		case <-s.quit:
			return
		case <-s.wake:
		}
		s.mu.Lock()
		gen := s.gen
		masks := slices.Clone(s.masks)
		s.progress.Pass++
		s.progress.Err = nil
		s.progress.Done, s.progress.Total = 0, len(s.in.Queries)
		s.mu.Unlock()
		err := s.pass(gen, masks)
		if errors.Is(err, errStale) {
			continue // the wake-up of the newer request is queued
		}
		s.mu.Lock()
		if s.gen == gen {
			s.finished = gen
			s.progress.Busy = false
			if err != nil {
				s.progress.Stage, s.progress.Err = "error", err
			} else {
				s.progress.Stage = "done"
			}
			s.cond.Broadcast()
		}
		s.mu.Unlock()
	}
}

// stage records what the worker does now; it fails with errStale when the masks were
// replaced or the session closed.
func (s *Session) stage(gen int, what string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gen != gen {
		return errStale
	}
	select {
	case <-s.quit:
		return errStale
	default:
	}
	s.progress.Stage = what
	return nil
}

// pass prepares the references with masks and scores every query.
func (s *Session) pass(gen int, masks []*imaging.Mask) error {
	if s.model == nil {
		var hw *head.Weights
		if s.in.Head != "" {
			if err := s.stage(gen, "loading the head"); err != nil {
				return err
			}
			var err error
			if hw, err = s.sh.head(s.in.Head); err != nil {
				return err
			}
		}
		s.hw, s.model = hw, head.New(s.sh.be, hw)
	}
	var normals []*tensor.Dense
	for i, p := range s.in.Normal {
		in, err := s.load(gen, p, fmt.Sprintf("features of normal reference %d", i+1))
		if err != nil {
			return err
		}
		normals = append(normals, in.feats)
	}
	var abn []head.Abnormal
	for i, r := range s.in.Abnormal {
		in, err := s.load(gen, r.Path, fmt.Sprintf("features of abnormal reference %d", i+1))
		if err != nil {
			return err
		}
		abn = append(abn, head.Abnormal{Features: in.feats, Mask: PatchMask(masks[i], in.side, in.patch)})
	}
	if err := s.stage(gen, "preparing the references"); err != nil {
		return err
	}
	ep, err := s.model.NewEpisode(normals, abn)
	if err != nil {
		return err
	}
	defer ep.Close()
	s.mu.Lock()
	s.progress.Warnings = ep.Warnings()
	s.mu.Unlock()
	for i, p := range s.in.Queries {
		what := fmt.Sprintf("scoring %s", filepath.Base(p))
		in, err := s.load(gen, p, what)
		if err != nil {
			return err
		}
		r, err := ep.Score(in.feats)
		if err != nil {
			return fmt.Errorf("viewer: %s: %w", p, err)
		}
		q := &Query{Path: p, Name: s.names[i], ImageScore: r.ImageScore, Grid: r.Grid, Image: in.image}
		q.Maps[MapA], q.Maps[MapSN], q.Maps[MapSA] = r.Map, r.NormalScore, r.DeviationScore
		if q.Mask, err = s.groundTruth(i, q); err != nil {
			return err
		}
		s.mu.Lock()
		if s.gen != gen {
			s.mu.Unlock()
			return errStale
		}
		s.results[i] = q
		s.version++
		s.progress.Done = i + 1
		s.mu.Unlock()
	}
	return nil
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

// load returns an input's features, computing them on first use.
func (s *Session) load(gen int, path, what string) (*input, error) {
	if in, ok := s.inputs[path]; ok {
		return in, nil
	}
	if err := s.stage(gen, what); err != nil {
		return nil, err
	}
	var in *input
	var err error
	if isFeaturesFile(path) {
		in, err = readFeatures(path)
	} else {
		in, err = s.fromImage(gen, path)
	}
	if err != nil {
		return nil, err
	}
	if s.hw != nil && in.feats.Shape[1] != s.hw.C() {
		return nil, fmt.Errorf("viewer: %s: features are %d wide but the head expects %d (features of another backbone?)", path, in.feats.Shape[1], s.hw.C())
	}
	s.inputs[path] = in
	return in, nil
}

func (s *Session) fromImage(gen int, path string) (*input, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("viewer: %w", err)
	}
	img, err := imaging.DecodeRGB(raw)
	if err != nil {
		return nil, fmt.Errorf("viewer: %s: %w", path, err)
	}
	cache, key := s.sh.cache(s.in.Cache, s.in.Backbone), ""
	if cache != nil {
		key = cache.Key(raw, s.in.Size)
		if e, err := cache.Get(key); err == nil && e != nil && e.W == img.W && e.H == img.H && tensor.NonFinite(e.Features.Data) < 0 {
			if g := int(math.Round(math.Sqrt(float64(e.Features.Shape[0])))); g*g == e.Features.Shape[0] && s.in.Size%g == 0 {
				s.cacheHits++
				return &input{feats: e.Features, image: img, side: s.in.Size, patch: s.in.Size / g}, nil
			}
		}
	}
	if s.backbone == nil {
		if err := s.stage(gen, "loading the backbone"); err != nil {
			return nil, err
		}
		m, err := s.sh.backbone(s.in.Backbone)
		if err != nil {
			return nil, err
		}
		if err := m.CheckSize(s.in.Size); err != nil {
			return nil, fmt.Errorf("viewer: --size: %w", err)
		}
		s.backbone = m
	}
	s.featureRuns++
	f, err := s.backbone.Features(s.sh.be, imaging.PreprocessRGB(img, s.in.Size), s.in.Size)
	if err != nil {
		return nil, fmt.Errorf("viewer: %s: %w", path, err)
	}
	if cache != nil {
		cache.Put(key, &featcache.Entry{Features: f, W: img.W, H: img.H}) // a failed write only costs a recomputation later
	}
	return &input{feats: f, image: img, side: s.in.Size, patch: s.backbone.Patch}, nil
}

// readFeatures reads a features file written by `ideal features`.
func readFeatures(path string) (*input, error) {
	ff, err := dinov2.ReadFeaturesFile(path)
	if err != nil {
		return nil, fmt.Errorf("viewer: %w", err)
	}
	return &input{feats: ff.Features, side: ff.Side, patch: ff.Patch}, nil
}
