package train

import (
	"math/rand/v2"
	"testing"

	"github.com/ideal-fsad/ideal/model/head"
)

// BenchmarkLossG32 is one training episode (forward and backward) at the real size:
// C = 384, M = 45, one abnormal reference, G = 32, mask side 448.
func BenchmarkLossG32(b *testing.B) {
	w, err := head.Init(384, 45, 1)
	if err != nil {
		b.Fatal(err)
	}
	p := FromWeights(w)
	s := randomSample(rand.New(rand.NewPCG(1, 1)), 384, 32, 448, 1)
	g := NewParams(p.C, p.M, p.Heads)
	for b.Loop() {
		if _, err := Loss(p, s, g, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBatchG32 is a batch of 16 such episodes on all cores.
func BenchmarkBatchG32(b *testing.B) {
	w, err := head.Init(384, 45, 1)
	if err != nil {
		b.Fatal(err)
	}
	p := FromWeights(w)
	rng := rand.New(rand.NewPCG(1, 1))
	var batch []*Sample
	for i := range 16 {
		batch = append(batch, randomSample(rng, 384, 32, 448, i%2))
	}
	g := NewParams(p.C, p.M, p.Heads)
	for b.Loop() {
		if _, err := BatchLoss(p, batch, g); err != nil {
			b.Fatal(err)
		}
	}
}
