package train

import (
	"math/rand/v2"
	"testing"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
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

// BenchmarkSampleG32 is the parameter-independent part of one episode at G = 32 on the
// CPU backend (NVE of the abnormal reference and the query, normal scores).
func BenchmarkSampleG32(b *testing.B) {
	w, err := head.Init(384, 45, 1)
	if err != nil {
		b.Fatal(err)
	}
	m := head.New(cpu.New(), w)
	defer m.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	feat := func() *tensor.Dense {
		t := tensor.New(1024, 384)
		for i := range t.Data {
			t.Data[i] = float32(rng.NormFloat64())
		}
		return t
	}
	normal, abn, query := feat(), feat(), feat()
	mask := make([]bool, 1024)
	for i := 300; i < 340; i++ {
		mask[i] = true
	}
	pix := make([]float32, 448*448)
	for b.Loop() {
		if _, err := NewSample(m, []*tensor.Dense{normal}, []head.Abnormal{{Features: abn, Mask: mask}}, query, 1, pix, 448); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrainStep is one training episode per op at the real size (G = 32,
// C = 384, M = 45, 1 normal + 1 abnormal reference, mask side 448): loss, backward
// and the AdamW step, in float32 (the default path) and in float64 (the oracle), on
// all cores. It reports episodes/s and the projected time of the 20 × 600 schedule.
func BenchmarkTrainStep(b *testing.B) {
	b.Run("G32", func(b *testing.B) {
		for _, prec := range []Precision{Float32, Float64} {
			b.Run(string(prec), func(b *testing.B) { benchTrainStep(b, prec) })
		}
	})
}

func benchTrainStep(b *testing.B, prec Precision) {
	w, err := head.Init(384, 45, 1)
	if err != nil {
		b.Fatal(err)
	}
	p := FromWeights(w)
	batch := []*Sample{randomSample(rand.New(rand.NewPCG(1, 1)), 384, 32, 448, 1)}
	g := NewParams(p.C, p.M, p.Heads)
	opt := NewAdamW(p)
	fast := NewFast(0)
	for b.Loop() { // as run.step
		if prec == Float32 {
			if _, err := fast.BatchLoss(p, batch, nil); err != nil {
				b.Fatal(err)
			}
			fast.Step(opt, p, 1e-4)
			continue
		}
		if _, err := BatchLoss(p, batch, g); err != nil {
			b.Fatal(err)
		}
		opt.Step(p, g, 1e-4)
	}
	eps := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(eps, "episodes/s")
	b.ReportMetric(20*600/eps/60, "min/20x600")
}
