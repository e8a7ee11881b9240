package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ideal-fsad/ideal/model/head"
)

// compare32 checks the float32 path against the float64 one on (p, s): every loss
// within 1e-5 relative (absolute for a loss under 1e-3) and every gradient within
// 1e-4 relative Frobenius.
func compare32(t *testing.T, name string, p *Params, s *Sample) {
	t.Helper()
	g64, g32 := NewParams(p.C, p.M, p.Heads), NewParams(p.C, p.M, p.Heads)
	l64, err := Loss(p, s, g64, 1)
	if err != nil {
		t.Fatal(err)
	}
	l32, err := NewFast(0).Loss(p, s, g32, 1)
	if err != nil {
		t.Fatal(err)
	}
	var worstL, worstG float64
	for _, c := range [][3]any{{"total", l32.Total(), l64.Total()}, {"image", l32.Image, l64.Image}, {"focal", l32.Focal, l64.Focal},
		{"dice", l32.Dice, l64.Dice}, {"disc", l32.Disc, l64.Disc}, {"orth", l32.Orth, l64.Orth}, {"score", l32.ImageScore, l64.ImageScore}} {
		got, want := c[1].(float64), c[2].(float64)
		rel := math.Abs(got-want) / max(math.Abs(want), 1e-3)
		worstL = max(worstL, rel)
		if !(rel <= 1e-5) {
			t.Errorf("%s: loss %s float32 %.9g float64 %.9g (relative %.2g > 1e-5)", name, c[0], got, want, rel)
		}
	}
	want := g64.Slices()
	for k, got := range g32.Slices() {
		var dn, wn float64
		for i, v := range got {
			dn += (v - want[k][i]) * (v - want[k][i])
			wn += want[k][i] * want[k][i]
		}
		rel := math.Sqrt(dn / max(wn, 1e-300))
		worstG = max(worstG, rel)
		if !(rel <= 1e-4) {
			t.Errorf("%s: grad.%s relative Frobenius %.3g > 1e-4 (‖g‖ %.3g)", name, k, rel, math.Sqrt(wn))
		}
	}
	t.Logf("%s: worst relative loss difference %.2g, worst relative gradient difference %.2g", name, worstL, worstG)
}

func TestFloat32MatchesFloat64Fixture(t *testing.T) {
	p, s, _ := fixtureSample(t)
	compare32(t, "fixture", p, s)
	s.DropRate, s.DropSeed = 0.1, 7
	compare32(t, "fixture, dropout", p, s)
}

func TestFloat32MatchesFloat64G32(t *testing.T) {
	if testing.Short() {
		t.Skip("G = 32 at C = 384 in float64")
	}
	w, err := head.Init(384, 45, 1)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	s := randomSample(rng, 384, 32, 448, 1)
	s.DropRate, s.DropSeed = 0.1, 3
	compare32(t, "G=32", FromWeights(w), s)
}

func TestFloat32Small(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, label := range []int{0, 1} {
		p := randomParams(rng, 16, 5, 2)
		s := randomSample(rng, 16, 4, 9, label)
		compare32(t, "small", p, s)
		for i := range s.Defect { // the masked case: no defect row
			s.Defect[i] = false
		}
		compare32(t, "small, masked", p, s)
	}
}
