package engine

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"image/png"
	"strconv"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
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

// Session holds a backbone, a head, the current episode and a cache of the patch
// features of the images it has seen (by content), so that re-preparing the references
// after a mask edit, or re-scoring the same queries, runs no backbone pass. Not safe for
// concurrent use.
type Session struct {
	be       *cpu.Backend
	backbone *dinov2.Model
	hw       *head.Weights
	demoHead bool
	model    *head.Model
	ep       *head.Episode
	size     int
	cache    featureCache
	forwards int // backbone passes run, for tests and the page
}

// Result is one scored query.
type Result struct {
	ImageScore float32
	Grid       int
	Map        []float32 // G×G, row-major
	OverlayPNG []byte    // heatmap over the query at its original size
}

// NewDemo returns a session with the built-in demo backbone and a seeded random head.
func NewDemo() (*Session, error) {
	m, err := dinov2.FromFile(DemoBackbone(), dinov2.Options{Heads: DemoHeads})
	if err != nil {
		return nil, fmt.Errorf("engine: demo backbone: %w", err)
	}
	return newSession(m, DemoSize)
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
func NewFromBytes(data []byte, size int) (*Session, error) {
	f, err := weights.Decode(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, fmt.Errorf("engine: backbone: %w", err)
	}
	m, err := dinov2.FromFile(f, dinov2.Options{})
	if err != nil {
		return nil, fmt.Errorf("engine: backbone: %w", err)
	}
	return newSession(m, size)
}

func newSession(m *dinov2.Model, size int) (*Session, error) {
	if err := m.CheckSize(size); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	hw, err := DemoHead(m.Width)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	be := cpu.New(cpu.WithPureGo(), cpu.WithThreads(1))
	return &Session{be: be, backbone: m, hw: hw, demoHead: true, model: head.New(be, hw), size: size,
		cache: featureCache{budget: cacheBudget}}, nil
}

// Width is the backbone's feature width C (a head must have the same).
func (s *Session) Width() int { return s.backbone.Width }

// Head returns the head in use and whether it is the seeded demo head.
func (s *Session) Head() (w *head.Weights, demo bool) { return s.hw, s.demoHead }

// Forwards is the number of backbone passes the session has run (images not found in
// its feature cache).
func (s *Session) Forwards() int { return s.forwards }

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
		if w, err = DemoHead(s.backbone.Width); err != nil {
			return fmt.Errorf("engine: %w", err)
		}
	}
	if w.C() != s.backbone.Width {
		return fmt.Errorf("engine: the head is %d channels wide but the backbone's features are %d wide: pick a head made for this backbone (ideal init-head --channels %d)",
			w.C(), s.backbone.Width, s.backbone.Width)
	}
	if s.ep != nil {
		s.ep.Close()
		s.ep = nil
	}
	s.model.Close()
	s.hw, s.demoHead, s.model = w, demo, head.New(s.be, w)
	return nil
}

// Close releases the session's buffers.
func (s *Session) Close() {
	if s.ep != nil {
		s.ep.Close()
	}
	s.model.Close()
	s.be.Close()
}

// features decodes an image and returns its patch features and the decoded image, from
// the cache when the same bytes were seen before.
func (s *Session) features(data []byte) (*tensor.Dense, *imaging.RGB, error) {
	key := sha256.Sum256(data)
	if e := s.cache.get(key); e != nil {
		return e.feats, e.img, nil
	}
	img, err := imaging.DecodeRGB(data)
	if err != nil {
		return nil, nil, err
	}
	f, err := s.backbone.Features(s.be, imaging.PreprocessRGB(img, s.size), s.size)
	if err != nil {
		return nil, nil, fmt.Errorf("engine: %w", err)
	}
	s.forwards++
	s.cache.put(key, &cacheEntry{feats: f, img: img})
	return f, img, nil
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
	var nf []*tensor.Dense
	for i, d := range normals {
		f, _, err := s.features(d)
		if err != nil {
			return nil, fmt.Errorf("normal reference %d: %w", i+1, err)
		}
		nf = append(nf, f)
	}
	var abn []head.Abnormal
	for i, d := range abnormals {
		f, img, err := s.features(d)
		if err != nil {
			return nil, fmt.Errorf("abnormal reference %d: %w", i+1, err)
		}
		m := masks[i]
		if m == nil {
			return nil, fmt.Errorf("engine: abnormal reference %d has no mask", i+1)
		}
		if err := imaging.CheckMaskSize(img.W, img.H, m.W, m.H); err != nil {
			return nil, fmt.Errorf("mask %d: %w", i+1, err)
		}
		abn = append(abn, head.Abnormal{Features: f, Mask: imaging.PatchMask(m.ResizeNearest(s.size, s.size), s.backbone.Patch)})
	}
	ep, err := s.model.NewEpisode(nf, abn)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	if s.ep != nil {
		s.ep.Close()
	}
	s.ep = ep
	return ep.Warnings(), nil
}

// Score scores one query image against the current references.
func (s *Session) Score(query []byte) (*Result, error) {
	if s.ep == nil {
		return nil, errors.New("engine: set the references before scoring")
	}
	f, img, err := s.features(query)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	r, err := s.ep.Score(f)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
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
