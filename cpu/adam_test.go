package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAdamUpdate checks Update (the AVX body and the Go tail on amd64) against the
// Go loop bit for bit, and the Go loop against the plain expression of the step.
func TestAdamUpdate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := &Adam{Decay: 1 - 1e-3*1e-4, Step: 1e-3 / 0.19, B1: 0.1, B2: 0.001, Beta1: 0.9, Beta2: 0.999, Eps: 1e-10, BC2: math.Sqrt(0.003)}
	for _, n := range []int{0, 1, 3, 4, 7, 64, 1001} {
		var s [2][5][]float64
		for i := range 5 {
			s[0][i] = make([]float64, n)
			for j := range n {
				s[0][i][j] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(16)-8))
				if i >= 2 && i <= 3 { // v, vmax ≥ 0
					s[0][i][j] = math.Abs(s[0][i][j])
				}
				if rng.IntN(20) == 0 {
					s[0][i][j] = 0
				}
			}
			s[1][i] = append([]float64(nil), s[0][i]...)
		}
		want := [5][]float64{}
		for i := range 5 {
			want[i] = append([]float64(nil), s[0][i]...)
		}
		for j := range n { // the plain expression
			p, m, v, x, g := &want[0][j], &want[1][j], &want[2][j], &want[3][j], want[4][j]
			// The conversions forbid fused multiply-adds (arm64 fuses otherwise).
			*p = float64(*p * a.Decay)
			*m = float64(a.Beta1**m) + float64(a.B1*g)
			*v = float64(a.Beta2**v) + float64(float64(a.B2*g)*g)
			*x = max(*x, *v)
			*p -= float64(a.Step**m) / (float64(math.Sqrt(*x)/a.BC2) + a.Eps)
		}
		for it := range 3 {
			a.Update(s[0][0], s[0][1], s[0][2], s[0][3], s[0][4])
			a.updateGo(s[1][0], s[1][1], s[1][2], s[1][3], s[1][4])
			for i := range 4 {
				for j := range n {
					if math.Float64bits(s[0][i][j]) != math.Float64bits(s[1][i][j]) {
						t.Fatalf("n %d, step %d: array %d [%d]: Update %v, Go loop %v", n, it, i, j, s[0][i][j], s[1][i][j])
					}
					if it == 0 && math.Float64bits(s[0][i][j]) != math.Float64bits(want[i][j]) {
						t.Fatalf("n %d: array %d [%d]: Update %v, plain %v", n, i, j, s[0][i][j], want[i][j])
					}
				}
			}
		}
	}
	p, m, v, x, g := []float64{1, 1, 1, 1}, []float64{0, 0, 0, 0}, []float64{0, 0, 0, 0}, []float64{math.NaN(), 0, 0, 0}, []float64{1, math.NaN(), 1, 1}
	a.Update(p, m, v, x, g)
	if !math.IsNaN(x[0]) || !math.IsNaN(x[1]) || !math.IsNaN(p[0]) || !math.IsNaN(p[1]) || math.IsNaN(p[2]) {
		t.Fatalf("NaN: p %v vmax %v", p, x)
	}
}

func BenchmarkAdamUpdate(b *testing.B) {
	const n = 1 << 15
	var s [5][]float64
	for i := range s {
		s[i] = make([]float64, n)
		for j := range s[i] {
			s[i][j] = 1e-3 * float64(j%17)
		}
	}
	a := &Adam{Decay: 1, Step: 1e-3, B1: 0.1, B2: 0.001, Beta1: 0.9, Beta2: 0.999, Eps: 1e-10, BC2: 0.1}
	for b.Loop() {
		a.Update(s[0], s[1], s[2], s[3], s[4])
	}
}
