package train

import (
	"fmt"
	"math"

	"github.com/ideal-fsad/ideal/cpu"
	"runtime"
	"sync"
	"sync/atomic"
)

// AdamW is PyTorch's AdamW with amsgrad (spec §8: β = 0.9, 0.999, ε = 1e−10, weight
// decay 1e−4): decoupled decay p ← p(1 − lr·wd), then the Adam step with the running
// maximum of the second moment.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64

	step       int
	m, v, vmax *Params
}

// NewAdamW returns the optimiser of spec §8 for parameters shaped like p.
func NewAdamW(p *Params) *AdamW {
	return &AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-10, WeightDecay: 1e-4,
		m: NewParams(p.C, p.M, p.Heads), v: NewParams(p.C, p.M, p.Heads), vmax: NewParams(p.C, p.M, p.Heads)}
}

// Steps is the number of steps taken.
func (o *AdamW) Steps() int { return o.step }

// Step updates p with gradient g at learning rate lr.
func (o *AdamW) Step(p, g *Params, lr float64) {
	a := o.begin(lr)
	pf, gf := p.fields(), g.fields()
	// Every value's update is independent of the others: the fields are cut into
	// chunks updated on all cores, with the same result.
	chunks(pf, func(k, lo, hi int) { a.update(k, lo, (*pf[k].v)[lo:hi], (*gf[k].v)[lo:hi]) })
}

// adamStep is one step's constants and state, shared by Step and Fast.Step.
type adamStep struct {
	c          cpu.Adam
	mf, vf, xf []field
}

// begin counts a step at learning rate lr and returns its constants.
func (o *AdamW) begin(lr float64) adamStep {
	o.step++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.step))
	bc2 := math.Sqrt(1 - math.Pow(o.Beta2, float64(o.step)))
	return adamStep{c: cpu.Adam{Decay: 1 - lr*o.WeightDecay, Step: lr / bc1, B1: 1 - o.Beta1, B2: 1 - o.Beta2,
		Beta1: o.Beta1, Beta2: o.Beta2, Eps: o.Eps, BC2: bc2}, mf: o.m.fields(), vf: o.v.fields(), xf: o.vmax.fields()}
}

// update updates the values pv of field k from index lo with their gradient gv
// (cpu.Adam.Update: the decoupled decay, the moments, their running maximum and the
// Adam step, in PyTorch's order).
func (a *adamStep) update(k, lo int, pv, gv []float64) {
	n := len(gv)
	a.c.Update(pv, (*a.mf[k].v)[lo:lo+n], (*a.vf[k].v)[lo:lo+n], (*a.xf[k].v)[lo:lo+n], gv)
}

// parallelFor runs fn(u) for every u in [0, n) on up to threads goroutines.
func parallelFor(n, threads int, fn func(u int)) {
	workers := min(n, threads)
	if workers <= 1 {
		for u := range n {
			fn(u)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for u := int(next.Add(1) - 1); u < n; u = int(next.Add(1) - 1) {
				fn(u)
			}
		})
	}
	wg.Wait()
}

// Schedule is the learning rate per iteration (spec §8): linear warm-up from Min to
// Peak over Warmup iterations, then a cosine from Peak down to Min at Total.
type Schedule struct {
	Peak, Min     float64
	Warmup, Total int
}

// At returns the learning rate of iteration it (0-based).
func (s Schedule) At(it int) float64 {
	if it < s.Warmup {
		return s.Min + (s.Peak-s.Min)*float64(it)/float64(s.Warmup)
	}
	span := max(1, s.Total-s.Warmup)
	f := min(1, float64(it-s.Warmup)/float64(span))
	return s.Min + 0.5*(s.Peak-s.Min)*(1+math.Cos(math.Pi*f))
}

// BatchLoss computes the mean loss of the batch and writes its gradient into g
// (zeroed first). Episodes run in parallel on up to GOMAXPROCS goroutines.
func BatchLoss(p *Params, batch []*Sample, g *Params) (Losses, error) {
	if len(batch) == 0 {
		return Losses{}, fmt.Errorf("train: empty batch")
	}
	g.Zero()
	workers := min(len(batch), runtime.GOMAXPROCS(0))
	grads := make([]*Params, workers)
	parts := make([]Losses, len(batch))
	errs := make([]error, len(batch))
	scale := 1 / float64(len(batch))
	var wg sync.WaitGroup
	for w := range workers {
		grads[w] = NewParams(p.C, p.M, p.Heads)
		wg.Go(func() {
			for i := w; i < len(batch); i += workers {
				parts[i], errs[i] = Loss(p, batch[i], grads[w], scale)
			}
		})
	}
	wg.Wait()
	var l Losses
	for i, e := range errs {
		if e != nil {
			return Losses{}, fmt.Errorf("train: episode %d of the batch: %w", i+1, e)
		}
		l.Add(parts[i], scale)
	}
	gf := g.fields()
	for _, gw := range grads {
		for k, f := range gw.fields() {
			dst := *gf[k].v
			for i, v := range *f.v {
				dst[i] += v
			}
		}
	}
	return l, nil
}
