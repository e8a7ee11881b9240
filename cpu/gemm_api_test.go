package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gemmCase fills A, B and C for op(A)·op(B) with leading dimensions padded by pad,
// the padding holding a guard value that must neither be read into C nor written.
func gemmCase(rng *rand.Rand, transA, transB bool, m, n, k, pad int) (a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	fill := func(r, cols int) ([]float32, int) {
		ld := cols + pad
		s := make([]float32, r*ld)
		for i := range s {
			s[i] = float32(math.NaN())
			if i%ld < cols {
				s[i] = float32(rng.NormFloat64())
			}
		}
		return s, ld
	}
	a, lda = fill(ar, ac)
	b, ldb = fill(br, bc)
	c, ldc = fill(m, n)
	return
}

func TestGemmMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := []int{1, 63, 64, 65, 257}
	backends := []*Backend{New(), New(WithThreads(1)), New(WithPureGo(), WithThreads(3))}
	scalars := [][2]float32{{1, 0}, {1, 1}, {0.5, 0}, {1, -2}, {0.25, 0.5}}
	n := 0
	for _, m := range sizes {
		for _, nn := range sizes {
			for _, k := range []int{1, 63, 65, 257, 600} {
				n++
				transA, transB := n%2 == 0, n%3 == 0
				sc := scalars[n%len(scalars)]
				be := backends[n%len(backends)]
				name := fmt.Sprintf("%s/%dx%dx%d/tA=%v/tB=%v/α=%g/β=%g", be.Name(), m, nn, k, transA, transB, sc[0], sc[1])
				a, lda, b, ldb, c, ldc := gemmCase(rng, transA, transB, m, nn, k, n%3)
				want := append([]float32(nil), c...)
				if sc[1] == 0 { // NaN in C must not propagate with β = 0
					for i := range m {
						c[i*ldc] = float32(math.NaN())
					}
				}
				GemmNaive(transA, transB, m, nn, k, sc[0], a, lda, b, ldb, sc[1], want, ldc)
				be.Gemm(transA, transB, m, nn, k, sc[0], a, lda, b, ldb, sc[1], c, ldc)
				for i := range c {
					g, w := c[i], want[i]
					if i%ldc >= nn {
						if !math.IsNaN(float64(g)) {
							t.Fatalf("%s: padding %d written: %v", name, i, g)
						}
						continue
					}
					if d := math.Abs(float64(g - w)); !(d <= 1e-4*math.Sqrt(float64(k))*(1+math.Abs(float64(w)))) {
						t.Fatalf("%s: C[%d,%d] = %v, naive %v", name, i/ldc, i%ldc, g, w)
					}
				}
			}
		}
	}
}

func TestGemmZeroK(t *testing.T) {
	c := []float32{1, 2, 3, 4}
	New().Gemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0.5, c, 2)
	if c[0] != 0.5 || c[3] != 2 {
		t.Fatalf("k = 0: C = %v, want β·C", c)
	}
}

func benchGemm(b *testing.B, f func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)) {
	rng := rand.New(rand.NewPCG(1, 1))
	const m, n, k = 1024, 384, 384
	a, lda, bb, ldb, c, ldc := gemmCase(rng, false, true, m, n, k, 0)
	b.SetBytes(0)
	for b.Loop() {
		f(false, true, m, n, k, 1, a, lda, bb, ldb, 0, c, ldc)
	}
	b.ReportMetric(2*m*n*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkGemm is a 1024×384×384 product (a layer's weights, transposed) on the
// default backend, beside its naive twin.
func BenchmarkGemm(b *testing.B) {
	b.Run("packed", func(b *testing.B) { benchGemm(b, Gemm) })
	b.Run("naive", func(b *testing.B) { benchGemm(b, GemmNaive) })
}
