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

func TestLog1pUnit(t *testing.T) {
	var worst float64
	for i := 0; i <= 1<<20; i++ {
		e := float64(i) / (1 << 20)
		worst = max(worst, math.Abs(log1pUnit(e)-math.Log1p(e)))
	}
	if worst > 5e-12 {
		t.Fatalf("log1pUnit: worst absolute error %.3g > 5e-12", worst)
	}
	t.Logf("log1pUnit: worst absolute error %.3g", worst)
}

// TestPixelLoss32Threads checks that loss32's sums do not depend on the threads and
// that it matches the float64 pixel loss.
func TestPixelLoss32Threads(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := randomSample(rng, 16, 32, 448, 1)
	sa := make([]float64, s.G*s.G)
	for i := range sa {
		sa[i] = rng.NormFloat64()
	}
	var ref []float64
	var refF, refD float64
	for _, threads := range []int{1, 2, 3, 16} {
		var pw pixelWork
		dsa := make([]float64, len(sa))
		f, d := pw.loss32(s, sa, dsa, threads)
		if ref == nil {
			ref, refF, refD = dsa, f, d
			continue
		}
		if f != refF || d != refD {
			t.Fatalf("threads %d: losses %v %v, with 1 thread %v %v", threads, f, d, refF, refD)
		}
		for i := range dsa {
			if dsa[i] != ref[i] {
				t.Fatalf("threads %d: dsa[%d] %v, with 1 thread %v", threads, i, dsa[i], ref[i])
			}
		}
	}
	dsa := make([]float64, len(sa))
	f, d := pixelLoss(s, sa, dsa)
	var dn, wn float64
	for i := range dsa {
		dn += (dsa[i] - ref[i]) * (dsa[i] - ref[i])
		wn += dsa[i] * dsa[i]
	}
	if math.Abs(f-refF) > 1e-9*f || math.Abs(d-refD) > 1e-9*d || dn > 1e-18*wn {
		t.Fatalf("loss32 %v %v, float64 %v %v, gradient relative %.3g", refF, refD, f, d, math.Sqrt(dn/wn))
	}
	t.Logf("float64 vs loss32: focal %.3g dice %.3g gradient %.3g", math.Abs(f-refF)/f, math.Abs(d-refD)/d, math.Sqrt(dn/wn))
}

func TestExpNeg(t *testing.T) {
	var worst float64
	for i := 0; i <= 1<<20; i++ {
		y := -745 * float64(i) / (1 << 20)
		want := math.Exp(max(y, -700))
		worst = max(worst, math.Abs(expNeg(y)-want)/want)
	}
	for _, y := range []float64{0, math.Copysign(0, -1), -1e-300, -0.34657359, -0.34657360, -1e-8} {
		worst = max(worst, math.Abs(expNeg(y)-math.Exp(y))/math.Exp(y))
	}
	if worst > 1e-14 {
		t.Fatalf("expNeg: worst relative error %.3g > 1e-14", worst)
	}
	t.Logf("expNeg: worst relative error %.3g", worst)
}

// TestFastStep checks that Fast.Step (the gradient kept in the workers, p rounded to
// float32 in the step) takes the same steps bit for bit as BatchLoss into g followed
// by AdamW.Step, for batches of one and several episodes.
func TestFastStep(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	p0 := randomParams(rng, 16, 5, 2)
	var batch []*Sample
	for i := range 3 {
		batch = append(batch, randomSample(rng, 16, 4, 9, i%2))
	}
	for _, b := range [][]*Sample{batch[:1], batch} {
		pa, pb := p0.Clone(), p0.Clone()
		oa, ob := NewAdamW(pa), NewAdamW(pb)
		fa, fb := NewFast(3), NewFast(3)
		g := NewParams(p0.C, p0.M, p0.Heads)
		for it := range 4 {
			la, err := fa.BatchLoss(pa, b, g)
			if err != nil {
				t.Fatal(err)
			}
			oa.Step(pa, g, 1e-2)
			lb, err := fb.BatchLoss(pb, b, nil)
			if err != nil {
				t.Fatal(err)
			}
			fb.Step(ob, pb, 1e-2)
			if la != lb {
				t.Fatalf("%d episodes, step %d: losses %+v, fused %+v", len(b), it, la, lb)
			}
		}
		want := pa.Slices()
		for k, got := range pb.Slices() {
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(want[k][i]) {
					t.Fatalf("%d episodes: %s[%d] %v, fused %v", len(b), k, i, want[k][i], got[i])
				}
			}
		}
	}
}
