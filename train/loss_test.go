package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

const fixtureDir = "../testdata/fixtures/ideal-head-g8/"

// fixtureSample loads the ideal-head-g8 fixture as head parameters, a sample and the
// expected tensors.
func fixtureSample(t *testing.T) (*Params, *Sample, map[string]*tensor.Dense) {
	t.Helper()
	w, err := head.Load(fixtureDir+"head.safetensors", "")
	if err != nil {
		t.Fatal(err)
	}
	in, err := weights.ReadSafetensors(fixtureDir + "inputs.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	exp, err := weights.ReadSafetensors(fixtureDir + "expected.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	flat := func(name string) *tensor.Dense {
		d := in.Tensors[name]
		return tensor.FromData(d.Data, d.Shape[len(d.Shape)-2], d.Shape[len(d.Shape)-1])
	}
	am := in.Tensors["abnormal_masks"]
	mask := imaging.NewMask(am.Shape[2], am.Shape[1])
	for i, v := range am.Data {
		mask.Pix[i] = v > 0
	}
	qm := in.Tensors["query_mask"]
	m := head.New(kernels.NewReference(), w)
	defer m.Close()
	s, err := NewSample(m, []*tensor.Dense{flat("normal_features")},
		[]head.Abnormal{{Features: flat("abnormal_features"), Mask: imaging.PatchMask(mask, 14)}},
		flat("query_features"), 1, qm.Data, qm.Shape[0])
	if err != nil {
		t.Fatal(err)
	}
	return FromWeights(w), s, exp.Tensors
}

func TestFixtureLossesAndGradients(t *testing.T) {
	p, s, exp := fixtureSample(t)
	g := NewParams(p.C, p.M, p.Heads)
	l, err := Loss(p, s, g, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("losses: image %.6g focal %.6g dice %.6g disc %.6g orth %.6g score %.6g", l.Image, l.Focal, l.Dice, l.Disc, l.Orth, l.ImageScore)
	var worst float64
	for _, c := range []struct {
		name string
		got  float64
	}{
		{"image_score", l.ImageScore},
		{"loss_image", l.Image}, {"loss_pixel_total", l.Pixel()}, {"loss_disc", l.Disc},
		{"loss_orth", l.Orth}, {"loss_total", l.Total()},
	} {
		want := float64(exp[c.name].Data[0])
		rel := math.Abs(c.got-want) / math.Abs(want)
		worst = max(worst, rel)
		t.Logf("%-17s got %.8g want %.8g rel %.2g", c.name, c.got, want, rel)
		if !(rel <= 1e-4) {
			t.Errorf("%s = %.8g, fixture %.8g (relative error %.3g > 1e-4)", c.name, c.got, want, rel)
		}
	}
	t.Logf("max relative loss error %.3g", worst)
	worst = 0
	for name, got := range g.Slices() {
		want := exp["grad."+name]
		if want == nil || len(want.Data) != len(got) {
			t.Fatalf("grad.%s: missing or wrong size in the fixture", name)
		}
		var dn, wn float64
		for i, v := range got {
			d := v - float64(want.Data[i])
			dn += d * d
			wn += float64(want.Data[i]) * float64(want.Data[i])
		}
		rel := math.Sqrt(dn / wn)
		worst = max(worst, rel)
		t.Logf("grad.%-42s ‖g‖ %.4g rel %.2g", name, math.Sqrt(wn), rel)
		if !(rel <= 1e-3) {
			t.Errorf("grad.%s: relative Frobenius error %.3g > 1e-3", name, rel)
		}
	}
	t.Logf("max relative gradient error %.3g", worst)
}

// randomSample is a tiny random episode of width c on a g×g grid.
func randomSample(rng *rand.Rand, c, g, side int, label int) *Sample {
	n := g * g
	s := &Sample{C: c, G: g, Label: label, Side: side,
		Keys: make([]float64, n*c), Values: make([]float64, n*c), Defect: make([]bool, n),
		Dev: make([]float64, n*c), SN: make([]float64, n), Mask: make([]float64, side*side)}
	for i := range s.Keys {
		s.Keys[i], s.Values[i], s.Dev[i] = rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
	}
	for i := range s.Defect {
		s.Defect[i] = rng.IntN(3) == 0
		s.SN[i] = rng.Float64()
	}
	s.Defect[0] = true
	for i := range s.Mask {
		if rng.IntN(4) == 0 {
			s.Mask[i] = 1
		}
	}
	return s
}

func randomParams(rng *rand.Rand, c, m, heads int) *Params {
	p := NewParams(c, m, heads)
	for _, f := range p.fields() { // in a fixed order, for a reproducible case
		for i := range *f.v {
			(*f.v)[i] = 0.3 * rng.NormFloat64()
		}
	}
	for i := range p.T {
		p.T[i] = rng.NormFloat64()
	}
	for i := range c {
		p.N1W[i] += 1
		p.N2W[i] += 1
	}
	return p
}

// TestFiniteDifferences checks the backward pass against central differences on a
// tiny random episode, without and with dropout (a fixed mask: the seed is fixed).
func TestFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		label int
		rate  float64
	}{{0, 0}, {1, 0}, {0, 0.1}, {1, 0.1}, {1, 0.5}} {
		label := tc.label
		p := randomParams(rng, 8, 5, 2)
		s := randomSample(rng, 8, 3, 7, label)
		s.DropRate, s.DropSeed = tc.rate, 11
		g := NewParams(p.C, p.M, p.Heads)
		if _, err := Loss(p, s, g, 1); err != nil {
			t.Fatal(err)
		}
		grads := g.Slices()
		var worst float64
		for name, v := range p.Slices() {
			for i := range v {
				const h = 1e-6
				old := v[i]
				v[i] = old + h
				lp, _ := Loss(p, s, nil, 1)
				v[i] = old - h
				lm, _ := Loss(p, s, nil, 1)
				v[i] = old
				num := (lp.Total() - lm.Total()) / (2 * h)
				err := math.Abs(num-grads[name][i]) / max(1e-4, math.Abs(num))
				worst = max(worst, err)
				if err > 1e-4 {
					t.Errorf("label %d, dropout %g: %s[%d]: backward %.8g, finite difference %.8g", label, tc.rate, name, i, grads[name][i], num)
				}
			}
		}
		t.Logf("label %d, dropout %g: max relative error against finite differences %.3g", label, tc.rate, worst)
	}
}

// TestDropout: the masks are a function of the seed; dropout changes the loss, and
// its masks keep about 1 − rate of the values, scaled by 1/(1 − rate).
func TestDropout(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p := randomParams(rng, 8, 5, 2)
	s := randomSample(rng, 8, 3, 7, 1)
	l0, _ := Loss(p, s, nil, 1)
	s.DropRate, s.DropSeed = 0.1, 1
	a, _ := Loss(p, s, nil, 1)
	b, _ := Loss(p, s, nil, 1)
	s.DropSeed = 2
	c, _ := Loss(p, s, nil, 1)
	if a != b || a == l0 || a == c {
		t.Errorf("losses: no dropout %v, seed 1 %v and %v, seed 2 %v", l0.Total(), a.Total(), b.Total(), c.Total())
	}
	big := &Sample{C: 64, DropRate: 0.1, DropSeed: 5, Keys: make([]float64, 64*64), Values: make([]float64, 64*64),
		Defect: make([]bool, 64)}
	for i := range big.Defect {
		big.Defect[i] = true
	}
	e := encode(NewParams(64, 64, 4), big)
	var kept int
	for _, v := range e.dropA {
		switch v {
		case 0:
		case 1 / 0.9:
			kept++
		default:
			t.Fatalf("dropout multiplier %v", v)
		}
	}
	if f := float64(kept) / float64(len(e.dropA)); math.Abs(f-0.9) > 0.01 {
		t.Errorf("kept %.4f of %d attention weights, want 0.9", f, len(e.dropA))
	}
	s.DropRate = 1
	if _, err := Loss(p, s, nil, 1); err == nil {
		t.Error("dropout rate 1 accepted")
	}
}
