package train

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkPixelLoss32 is the float32 path's pixel loss (focal and dice with the
// up-sampling and its backward) at G = 32, side 448, on 2 threads.
func BenchmarkPixelLoss32(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := randomSample(rng, 16, 32, 448, 1)
	sa := make([]float64, s.G*s.G)
	for i := range sa {
		sa[i] = rng.NormFloat64()
	}
	dsa := make([]float64, len(sa))
	var pw pixelWork
	for b.Loop() {
		pw.loss32(s, sa, dsa, 2)
	}
}
