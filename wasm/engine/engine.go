package engine

import (
	"bytes"
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

// Session holds a backbone, a head and the current episode. Not safe for concurrent use.
type Session struct {
	be       *cpu.Backend
	backbone *dinov2.Model
	hw       *head.Weights
	model    *head.Model
	ep       *head.Episode
	size     int
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
	return &Session{be: be, backbone: m, hw: hw, model: head.New(be, hw), size: size}, nil
}

// Close releases the session's buffers.
func (s *Session) Close() {
	if s.ep != nil {
		s.ep.Close()
	}
	s.model.Close()
	s.be.Close()
}

// features decodes an image and returns its patch features and the decoded image.
func (s *Session) features(data []byte) (*tensor.Dense, *imaging.RGB, error) {
	img, err := imaging.DecodeRGB(data)
	if err != nil {
		return nil, nil, err
	}
	f, err := s.backbone.Features(s.be, imaging.PreprocessRGB(img, s.size), s.size)
	if err != nil {
		return nil, nil, fmt.Errorf("engine: %w", err)
	}
	return f, img, nil
}

// SetReferences builds the episode from normal images and optional abnormal image +
// mask pairs (PNG/JPEG bytes; a mask is non-zero on the defect). It returns the
// episode's warnings.
func (s *Session) SetReferences(normals [][]byte, abnormals, masks [][]byte) ([]string, error) {
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
		m, err := imaging.DecodeMask(masks[i])
		if err != nil {
			return nil, fmt.Errorf("mask %d: %w", i+1, err)
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
