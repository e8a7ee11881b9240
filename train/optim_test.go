package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ideal-fsad/ideal/model/head"
)

// TestAdamW checks three amsgrad steps on one value against PyTorch's algorithm
// worked out by hand (the second step has v below its running maximum).
func TestAdamW(t *testing.T) {
	p := NewParams(8, 1, 8)
	p.T[0] = 1
	o := NewAdamW(p)
	g := NewParams(8, 1, 8)
	for i, c := range []struct{ g, want float64 }{{1, 0.89999000001}, {0, 0.8330086859984405}, {-0.5, 0.8152736361059945}} {
		g.T[0] = c.g
		o.Step(p, g, 0.1)
		if math.Abs(p.T[0]-c.want) > 1e-12 {
			t.Errorf("step %d: p = %.15g, want %.15g", i+1, p.T[0], c.want)
		}
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{Peak: 1e-3, Min: 1e-5, Warmup: 10, Total: 110}
	for _, c := range []struct {
		it   int
		want float64
	}{{0, 1e-5}, {5, (1e-3 + 1e-5) / 2}, {10, 1e-3}, {60, (1e-3 + 1e-5) / 2}, {110, 1e-5}, {200, 1e-5}} {
		if got := s.At(c.it); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("At(%d) = %g, want %g", c.it, got, c.want)
		}
	}
}

// TestBatchLoss checks the parallel batch gradient against the serial sum.
func TestBatchLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p := randomParams(rng, 16, 5, 8)
	batch := []*Sample{randomSample(rng, 16, 3, 7, 0), randomSample(rng, 16, 3, 7, 1), randomSample(rng, 16, 3, 7, 1)}
	g := NewParams(p.C, p.M, p.Heads)
	l, err := BatchLoss(p, batch, g)
	if err != nil {
		t.Fatal(err)
	}
	want := NewParams(p.C, p.M, p.Heads)
	var total float64
	for _, s := range batch {
		ls, err := Loss(p, s, want, 1.0/3)
		if err != nil {
			t.Fatal(err)
		}
		total += ls.Total() / 3
	}
	if math.Abs(l.Total()-total) > 1e-12 {
		t.Errorf("batch loss %.15g, serial %.15g", l.Total(), total)
	}
	ws := want.Slices()
	for name, v := range g.Slices() {
		for i := range v {
			if math.Abs(v[i]-ws[name][i]) > 1e-12 {
				t.Fatalf("%s[%d]: batch %g, serial %g", name, i, v[i], ws[name][i])
			}
		}
	}
	if _, err := BatchLoss(p, nil, g); err == nil {
		t.Error("empty batch accepted")
	}
}

// TestTrainingLowersLoss trains a freshly initialised tiny head (spec §8 init) on a
// few fixed random episodes and expects the mean loss to go down.
func TestTrainingLowersLoss(t *testing.T) {
	w, err := head.Init(16, 6, 7)
	if err != nil {
		t.Fatal(err)
	}
	p := FromWeights(w)
	rng := rand.New(rand.NewPCG(5, 6))
	var batch []*Sample
	for i := range 8 {
		batch = append(batch, randomSample(rng, 16, 4, 8, i%2))
	}
	o := NewAdamW(p)
	g := NewParams(p.C, p.M, p.Heads)
	sched := Schedule{Peak: 1e-2, Min: 1e-4, Warmup: 5, Total: 60}
	var first, last Losses
	for it := range sched.Total {
		l, err := BatchLoss(p, batch, g)
		if err != nil {
			t.Fatal(err)
		}
		if it == 0 {
			first = l
		}
		last = l
		o.Step(p, g, sched.At(it))
	}
	t.Logf("loss %.4f → %.4f (image %.4f → %.4f, disc %.4f → %.4f, orth %.4f → %.4f)",
		first.Total(), last.Total(), first.Image, last.Image, first.Disc, last.Disc, first.Orth, last.Orth)
	if !(last.Total() < first.Total()-0.05) {
		t.Errorf("loss went from %.4f to %.4f", first.Total(), last.Total())
	}
	// The trained parameters round-trip through head weights.
	back := FromWeights(p.Weights(w.Config))
	for name, v := range p.Slices() {
		bv := back.Slices()[name]
		for i := range v {
			if math.Abs(v[i]-bv[i]) > 1e-6*max(1, math.Abs(v[i])) {
				t.Fatalf("%s[%d]: %g after the round trip, %g before", name, i, bv[i], v[i])
			}
		}
	}
}
