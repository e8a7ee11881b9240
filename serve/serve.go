// Package serve is the inspection service behind 'ideal serve': named inspection
// profiles (backbone, head, input size, normal references, abnormal references with
// masks, threshold) stored durably under a state folder, scored over HTTP through a
// JSON API (/v1) and the Open Inference Protocol v2 REST endpoints (/v2), with
// back-pressure, deadlines, Prometheus metrics and structured logs.
//
// One ideal.Detector serves every profile of the same backbone, head and input size
// (the weights are loaded once); each profile keeps its episode prepared.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/kernels"
)

// Config configures a Server.
type Config struct {
	State   string // folder of the stored profiles (created if missing)
	Weights string // folder of the backbone and head files that profiles name
	// Profiles, when set, is a folder of profiles that Load imports (ImportFolder)
	// before it loads the stored ones.
	Profiles string
	// Backend runs every detector (nil: each detector makes a CPU backend). It is the
	// caller's to close, after Close.
	Backend kernels.Backend

	MaxParallel int           // requests scored at once (0: 2)
	Queue       int           // requests waiting for a slot beyond that; more get 429 (0: 16)
	Timeout     time.Duration // per-request deadline (0: 30 s)
	MaxBody     int64         // bytes of a request body (0: 64 MiB)
	MaxImages   int           // images per scoring request (0: 16)
	MaxRefs     int           // reference images per profile (0: 64)
	Token       string        // when set, every route but /v2/health/* needs "Authorization: Bearer Token"
	Logger      *slog.Logger  // nil: slog.Default()
}

func (c *Config) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxParallel, 2)
	def(&c.Queue, 16)
	def(&c.MaxImages, 16)
	def(&c.MaxRefs, 64)
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.MaxBody <= 0 {
		c.MaxBody = 64 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// detKey identifies a shared detector.
type detKey struct {
	backbone, head string
	size           int
}

// profile is a loaded profile: its spec and prepared episode. Scoring holds mu for
// reading; closing the episode (after a replacement or deletion) takes it for writing.
type profile struct {
	spec   Spec
	det    *ideal.Detector
	mu     sync.RWMutex
	ep     *ideal.Episode
	closed bool
}

func (p *profile) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.ep.Close()
		p.closed = true
	}
}

// Server serves the profiles of a state folder. Make one with New, load the stored
// profiles with Load (readiness follows), and serve Handler.
type Server struct {
	cfg     Config
	store   *store
	log     *slog.Logger
	met     *metrics
	lim     *limiter
	ready   atomic.Bool
	writeMu sync.Mutex // serialises profile changes
	// beMu serialises the work of every detector on Config.Backend, which they share
	// (a backend is not safe for concurrent use); without one each detector has its own.
	beMu sync.Mutex

	mu       sync.RWMutex
	closed   bool           // Close has begun: nothing more is loaded
	loading  sync.WaitGroup // the Loads running, which Close waits for
	profiles map[string]*profile
	dets     map[detKey]*ideal.Detector
}

// New opens the state folder (repairing what a crash left there) and returns a server
// with no profile loaded yet.
func New(cfg Config) (*Server, error) {
	cfg.defaults()
	if cfg.State == "" {
		return nil, fmt.Errorf("%w: serve: a state folder is needed", ideal.ErrBadOption)
	}
	st, err := openStore(cfg.State)
	if err != nil {
		return nil, fmt.Errorf("serve: state folder: %w", err)
	}
	s := &Server{cfg: cfg, store: st, log: cfg.Logger, profiles: map[string]*profile{}, dets: map[detKey]*ideal.Detector{}}
	s.met = newMetrics()
	s.lim = newLimiter(cfg.MaxParallel, cfg.Queue, s.met)
	return s, nil
}

// Load imports the profiles of Config.Profiles, loads every stored profile (weights,
// references, episodes) and then marks the server ready. A profile that cannot be
// imported or loaded is logged and skipped.
func (s *Server) Load(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errClosed
	}
	s.loading.Add(1)
	s.mu.Unlock()
	defer s.loading.Done()
	if s.cfg.Profiles != "" {
		if err := s.ImportFolder(ctx, s.cfg.Profiles); err != nil {
			s.log.Error("importing profiles", "folder", s.cfg.Profiles, "err", err)
		}
	}
	ups, err := s.store.list()
	if err != nil {
		return err
	}
	for _, u := range ups {
		if s.lookupLoaded(u.spec.Name) { // imported just now
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if s.isClosed() {
			return errClosed
		}
		p, err := s.prepare(ctx, u)
		if err != nil {
			s.log.Error("profile not loaded", "profile", u.spec.Name, "err", err)
			continue
		}
		s.mu.Lock()
		closed := s.closed
		if !closed {
			s.profiles[u.spec.Name] = p
		}
		s.mu.Unlock()
		if closed {
			p.close()
			return errClosed
		}
		s.log.Info("profile loaded", "profile", u.spec.Name, "normal", len(u.normal), "abnormal", len(u.abnormal))
	}
	s.ready.Store(true)
	return nil
}

func (s *Server) lookupLoaded(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.profiles[name] != nil
}

func (s *Server) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// errClosed is the error of work asked of a closed server.
var errClosed = errors.New("serve: the server is closed")

// Ready reports whether Load has finished.
func (s *Server) Ready() bool { return s.ready.Load() }

// Close frees every episode and detector. A Load running meanwhile stops, and frees
// what it prepared.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.loading.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.profiles {
		p.close()
	}
	var errs []error
	for _, d := range s.dets {
		errs = append(errs, d.Close())
	}
	s.profiles, s.dets = map[string]*profile{}, map[detKey]*ideal.Detector{}
	return errors.Join(errs...)
}

// detector returns the shared detector of a spec, making it (and loading the
// backbone) on first need.
func (s *Server) detector(spec Spec) (*ideal.Detector, error) {
	k := detKey{spec.Backbone, spec.Head, spec.Size}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	if d := s.dets[k]; d != nil {
		return d, nil
	}
	opt := ideal.Options{Backbone: filepath.Join(s.cfg.Weights, spec.Backbone), Size: spec.Size, Backend: s.cfg.Backend,
		Warn: func(m string) { s.log.Warn(m, "backbone", spec.Backbone) }}
	if s.cfg.Backend != nil {
		opt.Lock = &s.beMu
	}
	if spec.Head != "" {
		opt.Head = filepath.Join(s.cfg.Weights, spec.Head)
	}
	d, err := ideal.New(opt)
	if err != nil {
		return nil, err
	}
	if _, err := d.Backbone(); err != nil {
		d.Close()
		return nil, err
	}
	s.dets[k] = d
	s.met.backbones.Set(float64(len(s.dets)))
	return d, nil
}

// prepare makes a profile's episode from its references.
func (s *Server) prepare(ctx context.Context, u *upload) (*profile, error) {
	if err := checkSpec(&u.spec); err != nil {
		return nil, err
	}
	det, err := s.detector(u.spec)
	if err != nil {
		return nil, err
	}
	var refs ideal.Refs
	for i, b := range u.normal {
		refs.Normal = append(refs.Normal, ideal.Bytes(fmt.Sprintf("normal[%d]", i), b))
	}
	for i, b := range u.abnormal {
		m, err := decodeMask(fmt.Sprintf("mask[%d]", i), u.masks[i])
		if err != nil {
			return nil, err
		}
		refs.Abnormal = append(refs.Abnormal, ideal.Abnormal{Input: ideal.Bytes(fmt.Sprintf("abnormal[%d]", i), b), Mask: m})
	}
	ep, err := det.Episode(ctx, refs)
	if err != nil {
		return nil, err
	}
	return &profile{spec: u.spec, det: det, ep: ep}, nil
}

// checkSpec checks a spec's names and values.
func checkSpec(sp *Spec) error {
	switch {
	case !validName(sp.Name):
		return fmt.Errorf("%w: profile name %q: %w", ideal.ErrBadInput, sp.Name, ErrBadName)
	case !validFile(sp.Backbone):
		return fmt.Errorf("%w: backbone %q must be the name of a file in the server's weights folder", ideal.ErrBadInput, sp.Backbone)
	case sp.Head != "" && !validFile(sp.Head):
		return fmt.Errorf("%w: head %q must be the name of a file in the server's weights folder", ideal.ErrBadInput, sp.Head)
	case sp.Size < 0 || sp.Size > 4096:
		return fmt.Errorf("%w: size %d out of range", ideal.ErrBadInput, sp.Size)
	}
	if sp.Size == 0 {
		sp.Size = ideal.DefaultSize
	}
	return nil
}

// lookup returns profile name, read-locked (the caller calls p.mu.RUnlock), or nil.
func (s *Server) lookup(name string) *profile {
	for range 3 {
		s.mu.RLock()
		p := s.profiles[name]
		s.mu.RUnlock()
		if p == nil {
			return nil
		}
		p.mu.RLock()
		if !p.closed {
			return p
		}
		p.mu.RUnlock() // replaced meanwhile: look again
	}
	return nil
}

// put installs a prepared profile (replacing and closing any other of its name); a
// closed server closes it instead.
func (s *Server) put(p *profile) (replaced bool) {
	s.mu.Lock()
	if s.closed { // stored, and loaded at the next start
		s.mu.Unlock()
		p.close()
		return false
	}
	old := s.profiles[p.spec.Name]
	s.profiles[p.spec.Name] = p
	s.mu.Unlock()
	if old != nil {
		go old.close() // after the requests scoring with it
	}
	return old != nil
}

// Handler is the server's HTTP handler: the API, /v2, /metrics, with the token check,
// the metrics and the request log around it.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/profiles", s.handleList)
	mux.HandleFunc("GET /v1/profiles/{name}", s.handleGet)
	mux.HandleFunc("PUT /v1/profiles/{name}", s.handlePut)
	mux.HandleFunc("DELETE /v1/profiles/{name}", s.handleDelete)
	mux.HandleFunc("POST /v1/profiles/{name}/score", s.handleScore)
	s.v2Routes(mux)
	mux.Handle("GET /metrics", s.met.handler())
	return s.middleware(mux)
}
