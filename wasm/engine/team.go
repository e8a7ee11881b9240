package engine

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/weights"
)

// NewRandom returns a session on a seeded random backbone of the given shape (e.g.
// ViT-S/14: width 384, depth 12, 6 heads) at input side size, for timing the engine
// without a weight file.
func NewRandom(width, depth, heads, size int, opts ...Option) (*Session, error) {
	if width <= 0 || depth <= 0 || heads <= 0 || width%heads != 0 {
		return nil, fmt.Errorf("engine: a random backbone of width %d, depth %d and %d heads: want positive sizes, heads dividing the width", width, depth, heads)
	}
	f := &weights.File{Tensors: dinov2.RandomWeights(width, depth, 14, 37, demoSeed),
		Metadata: map[string]string{"num_attention_heads": strconv.Itoa(heads)}}
	return newSession(f, heads, size, opts)
}

// Size is the input side S of the session's backbone.
func (s *Session) Size() int { return s.size }

// Backend is the name of the backend the session runs on (e.g. "cpu/wasm-simd128").
func (s *Session) Backend() string { return s.be.Name() }

// SetTeam splits the session's backbone passes over team, of which this session is
// rank 0 (see dinov2.Team); nil stops. TeamError says when the team was dropped.
func (s *Session) SetTeam(t dinov2.Team) { s.model.SetTeam(t) }

// TeamError is why the backbone stopped splitting its passes (nil: it did not).
func (s *Session) TeamError() error { return s.model.TeamError() }

// SetProgress sets a function called after each transformer block of a backbone pass.
func (s *Session) SetProgress(f func(done, total int)) { s.model.SetProgress(f) }

// Follow runs this session's share (rank ≥ 1 of team) of the pass rank 0 began with
// pixels (3·S·S normalised values).
func (s *Session) Follow(t dinov2.Team, pixels []float32) error {
	return s.model.FollowPass(s.be, t, pixels, s.size)
}

// BenchPass runs one backbone pass (through the team, if any) on a fixed seeded
// image, bypassing the feature caches: what a query costs.
func (s *Session) BenchPass() error {
	if len(s.benchPixels) != 3*s.size*s.size { // made once, outside the timed passes
		s.benchPixels = make([]float32, 3*s.size*s.size)
		r := rand.New(rand.NewPCG(demoSeed, 2))
		for i := range s.benchPixels {
			s.benchPixels[i] = float32(r.NormFloat64())
		}
	}
	_, err := s.model.Features(s.be, s.benchPixels, s.size)
	return err
}
