package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"strconv"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/weights"
)

// Demo backbone and head shapes: a small seeded random ViT (patch 14) so the page runs
// fast; it is NOT a trained model, only a way to exercise the whole pipeline.
const (
	DemoWidth = 64
	DemoDepth = 2
	DemoHeads = 4
	DemoSize  = 224 // input side S: G = 16
	demoGrid  = 16
	demoSeed  = 1
	demoM     = 16 // head deviation vectors
)

// cacheBudget bounds the detector's memory cache of features (and decoded images), in
// bytes: enough for a few dozen 448-pixel ViT-S images, small beside the 4 GiB a wasm
// page can hold.
const cacheBudget = 256 << 20

// Session is a thin layer over package ideal: a Detector holding the backbone and a
// memory cache of the patch features of the images it has seen (by content), one
// Detector per head sharing them (Detector.WithHead), and the current Episode. So
// re-preparing the references after a mask edit or a head change, or re-scoring the
// same queries, runs no backbone pass. Not safe for concurrent use.
type Session struct {
	be          kernels.Backend
	ownsBE      bool
	base        *ideal.Detector // the backbone and the feature cache; no head
	det         *ideal.Detector // base.WithHead(hw)
	width       int
	hw          *head.Weights
	demoHead    bool
	ep          *ideal.Episode
	forwards    int // backbone passes run by the detectors SetHead replaced
	model       *dinov2.Model
	size        int
	benchPixels []float32 // BenchPass's fixed image
}

// Result is one scored query.
type Result struct {
	ImageScore float32
	Grid       int
	Map        []float32 // G×G, row-major
	OverlayPNG []byte    // heatmap over the query at its original size
}

// Option configures a new session.
type Option func(*config)

type config struct{ be kernels.Backend }

// WithBackend runs the session on be, which stays the caller's to close (Close leaves
// it), instead of the session's own single-threaded CPU backend on the build's best
// path (in the page: WebAssembly SIMD128 when built with GOEXPERIMENT=simd): the page's
// WebGPU backend (wasm/main, idealUseGPU), or a test comparing the engine's results with
// other surfaces' on one backend.
func WithBackend(be kernels.Backend) Option { return func(c *config) { c.be = be } }

// NewDemo returns a session with the built-in demo backbone and a seeded random head.
func NewDemo(opts ...Option) (*Session, error) {
	return newSession(DemoBackbone(), DemoHeads, DemoSize, opts)
}

// DemoBackbone returns the built-in demo backbone's tensors (Hugging Face names) with
// its head count in the metadata, e.g. to write it to a file for the CLI.
func DemoBackbone() *weights.File {
	return &weights.File{Tensors: dinov2.RandomWeights(DemoWidth, DemoDepth, 14, demoGrid, demoSeed),
		Metadata: map[string]string{"num_attention_heads": strconv.Itoa(DemoHeads)}}
}

// DemoHead returns the seeded random head every session uses for a backbone of width c.
func DemoHead(c int) (*head.Weights, error) { return head.Init(c, demoM, demoSeed) }

// NewFromBytes returns a session with a backbone read from a weight file's bytes
// (safetensors, .pth or TorchScript) and a seeded random head of the backbone's width.
func NewFromBytes(data []byte, size int, opts ...Option) (*Session, error) {
	f, err := weights.Decode(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("engine: backbone: %w", err)
	}
	return newSession(f, 0, size, opts)
}

func newSession(f *weights.File, heads, size int, opts []Option) (*Session, error) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := &Session{be: c.be}
	if s.be == nil {
		s.be, s.ownsBE = cpu.New(cpu.WithThreads(1)), true
	}
	var err error
	s.base, err = ideal.New(ideal.Options{BackboneWeights: f, BackboneHeads: heads, Size: size, Backend: s.be, MemoryCache: cacheBudget})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("engine: backbone: %w", err)
	}
	m, err := s.base.Backbone()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("engine: backbone: %w", err)
	}
	s.width, s.model, s.size = m.Width, m, size
	if err := s.SetHead(nil); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Width is the backbone's feature width C (a head must have the same).
func (s *Session) Width() int { return s.width }

// Head returns the head in use and whether it is the seeded demo head.
func (s *Session) Head() (w *head.Weights, demo bool) { return s.hw, s.demoHead }

// Forwards is the number of backbone passes the session has run (images not found in
// its feature cache).
func (s *Session) Forwards() int { return s.forwards + s.det.Stats().Forwards }

// HeadFromBytes reads an IDE head from a weight file's bytes (safetensors as written by
// 'ideal init-head', 'ideal train' or 'ideal convert'; a .pth or TorchScript file too),
// with the same strict name/shape checks as the command line's --head.
func HeadFromBytes(data []byte) (*head.Weights, error) {
	f, err := weights.Decode(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("engine: head: %w", err)
	}
	w, err := head.FromFile(f, "")
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	return w, nil
}

// SetHead replaces the head (nil: the seeded demo head of the backbone's width). The
// head's width must be the backbone's. The references must be set again afterwards;
// the cached features stay valid.
func (s *Session) SetHead(w *head.Weights) error {
	demo := w == nil
	if demo {
		var err error
		if w, err = DemoHead(s.width); err != nil {
			return fmt.Errorf("engine: %w", err)
		}
	}
	if w.C() != s.width {
		return fmt.Errorf("engine: the head is %d channels wide but the backbone's features are %d wide: pick a head made for this backbone (ideal init-head --channels %d)",
			w.C(), s.width, s.width)
	}
	det, err := s.base.WithHead(w)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	s.closeEpisode()
	if s.det != nil {
		s.forwards += s.det.Stats().Forwards
		s.det.Close()
	}
	s.det, s.hw, s.demoHead = det, w, demo
	return nil
}

func (s *Session) closeEpisode() {
	if s.ep != nil {
		s.ep.Close()
		s.ep = nil
	}
}

// Close releases the session's buffers (and its backend, unless WithBackend gave it).
func (s *Session) Close() {
	s.closeEpisode()
	if s.det != nil {
		s.det.Close()
	}
	if s.base != nil {
		s.base.Close()
	}
	if s.ownsBE {
		s.be.Close()
	}
}

// SetReferences builds the episode from normal images and optional abnormal image +
// mask pairs (PNG/JPEG bytes; a mask is non-zero on the defect, as imaging.DecodeMask
// reads it). It returns the episode's warnings.
func (s *Session) SetReferences(normals [][]byte, abnormals, masks [][]byte) ([]string, error) {
	if len(masks) != len(abnormals) {
		return nil, fmt.Errorf("engine: %d abnormal references but %d masks", len(abnormals), len(masks))
	}
	ms := make([]*imaging.Mask, len(masks))
	for i, d := range masks {
		m, err := imaging.DecodeMask(d)
		if err != nil {
			return nil, fmt.Errorf("mask %d: %w", i+1, err)
		}
		ms[i] = m
	}
	return s.SetReferencesMasks(normals, abnormals, ms)
}

// SetReferencesMasks is SetReferences with the masks already decoded (e.g. painted in the
// page, see MaskFromRGBA); each must have its image's size.
func (s *Session) SetReferencesMasks(normals, abnormals [][]byte, masks []*imaging.Mask) ([]string, error) {
	if len(normals)+len(abnormals) == 0 {
		return nil, errors.New("engine: give at least one normal or abnormal reference")
	}
	if len(masks) != len(abnormals) {
		return nil, fmt.Errorf("engine: %d abnormal references but %d masks", len(abnormals), len(masks))
	}
	var refs ideal.Refs
	for _, d := range normals {
		refs.Normal = append(refs.Normal, ideal.Bytes("", d))
	}
	for i, d := range abnormals {
		if masks[i] == nil {
			return nil, fmt.Errorf("engine: abnormal reference %d has no mask", i+1)
		}
		refs.Abnormal = append(refs.Abnormal, ideal.Abnormal{Input: ideal.Bytes("", d), Mask: masks[i]})
	}
	ep, err := s.det.Episode(context.Background(), refs)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	s.closeEpisode()
	s.ep = ep
	return ep.Warnings(), nil
}

// Score scores one query image against the current references.
func (s *Session) Score(query []byte) (*Result, error) {
	if s.ep == nil {
		return nil, errors.New("engine: set the references before scoring")
	}
	r, err := s.ep.Score(context.Background(), ideal.Bytes("query", query))
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	img := r.Image
	if img == nil { // only features from a disk cache come without their image; the engine has none
		if img, err = imaging.DecodeRGB(query); err != nil {
			return nil, fmt.Errorf("engine: query: %w", err)
		}
	}
	cm, err := imaging.LookupColormap("jet")
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, imaging.HeatmapOverlay(img, r.Map, r.Grid, r.Grid, cm, 0.5)); err != nil {
		return nil, fmt.Errorf("engine: overlay: %w", err)
	}
	return &Result{ImageScore: r.ImageScore, Grid: r.Grid, Map: r.Map, OverlayPNG: buf.Bytes()}, nil
}
