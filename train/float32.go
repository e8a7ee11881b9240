package train

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/ideal-fsad/ideal/cpu"
)

// Precision selects the arithmetic of the training's loss and gradient.
type Precision string

const (
	// Float32 runs the head's forward and backward passes on the CPU backend's packed
	// float32 kernels (the default): several times faster.
	Float32 Precision = "float32"
	// Float64 is the scalar float64 implementation, the oracle the float32 path is
	// tested against.
	Float64 Precision = "float64"
)

// Fast computes episode losses and gradients in float32 on the CPU backend's
// kernels (cpu.Backend.Gemm), its workspaces reused from call to call. The
// parameters, the gradients it returns and the optimiser stay in float64. With the
// same threads, its results are the same bit for bit. A Fast is not safe for
// concurrent use.
type Fast struct {
	threads int
	p32     params32
	ws      []*ws32
	pending int     // workers holding the gradient of the last BatchLoss with g nil (0: none)
	gradFor *Params // the parameters of that gradient
	synced  *Params // the parameters p32 holds after Step (nil: none)
}

// NewFast returns a float32 trainer on threads goroutines (≤ 0: GOMAXPROCS).
func NewFast(threads int) *Fast {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &Fast{threads: threads}
}

// worker returns workspace i with a backend of the given threads and zeroed
// gradient sums shaped like p.
func (f *Fast) worker(i, threads int, p *Params) *ws32 {
	for len(f.ws) <= i {
		f.ws = append(f.ws, &ws32{})
	}
	w := f.ws[i]
	if w.be == nil || w.be.Threads() != threads {
		w.be = cpu.New(cpu.WithThreads(threads))
	}
	w.grad.fit(p)
	w.grad.zero()
	return w
}

// BatchLoss is BatchLoss in float32: the mean loss of the batch, its gradient
// written into g (zeroed first). Episodes are spread over the threads (episode i on
// worker i mod workers, each worker's products on threads/workers goroutines), and
// the workers' gradient sums are added in order. With g nil, the gradient is kept
// for Step instead.
func (f *Fast) BatchLoss(p *Params, batch []*Sample, g *Params) (Losses, error) {
	f.pending = 0
	if len(batch) == 0 {
		return Losses{}, fmt.Errorf("train: empty batch")
	}
	for i, s := range batch {
		if err := s.check(p); err != nil {
			return Losses{}, fmt.Errorf("train: episode %d of the batch: %w", i+1, err)
		}
	}
	f.setParams(p)
	workers := min(len(batch), f.threads)
	parts := make([]Losses, len(batch))
	scale := 1 / float64(len(batch))
	var wg sync.WaitGroup
	for k := range workers {
		w := f.worker(k, max(1, f.threads/workers), p)
		wg.Go(func() {
			for i := k; i < len(batch); i += workers {
				parts[i] = w.loss(&f.p32, batch[i], scale, true)
			}
		})
	}
	wg.Wait()
	var l Losses
	for _, pt := range parts {
		l.Add(pt, scale)
	}
	if g == nil {
		f.pending, f.gradFor = workers, p
		return l, nil
	}
	sumInto(g, f.ws[:workers])
	return l, nil
}

// setParams rounds p to float32 unless Step left them there.
func (f *Fast) setParams(p *Params) {
	if f.synced != p || !f.p32.fits(p) {
		f.p32.set(p)
	}
	f.synced, f.pending = nil, 0
}

// Step is o.Step(p, g, lr) with g the gradient of the last BatchLoss(p, batch, nil),
// in one pass: each chunk's gradient is added from the workers' float32 sums in
// order (the same float64 values BatchLoss would write into g), and the updated
// parameters are rounded to float32 for the next BatchLoss, which then does not
// read p again: p must not change in between but through Step.
func (f *Fast) Step(o *AdamW, p *Params, lr float64) {
	if f.pending == 0 || f.gradFor != p {
		panic("train: Fast.Step without the gradient of a BatchLoss(p, batch, nil)")
	}
	a := o.begin(lr)
	pf, qf := p.fields(), f.p32.fields()
	wf := make([][]*[]float32, f.pending)
	for i, w := range f.ws[:f.pending] {
		wf[i] = w.grad.fields()
	}
	chunks(pf, func(k, lo, hi int) {
		bp := gradPool.Get().(*[]float64)
		defer gradPool.Put(bp)
		gv := (*bp)[:hi-lo]
		clear(gv)
		for _, wg := range wf {
			for i, v := range (*wg[k])[lo:hi] {
				gv[i] += float64(v)
			}
		}
		pv := (*pf[k].v)[lo:hi]
		a.update(k, lo, pv, gv)
		toF32((*qf[k])[lo:hi], pv)
	})
	f.pending, f.synced = 0, p
}

// gradPool holds Step's chunk gradients.
var gradPool = sync.Pool{New: func() any { b := make([]float64, chunkSize); return &b }}

// Loss is Loss in float32: the losses of one episode and, when g is not nil,
// scale·∂loss/∂p added to g.
func (f *Fast) Loss(p *Params, s *Sample, g *Params, scale float64) (Losses, error) {
	if err := s.check(p); err != nil {
		return Losses{}, err
	}
	f.setParams(p)
	w := f.worker(0, f.threads, p)
	l := w.loss(&f.p32, s, scale, g != nil)
	if g != nil {
		w.grad.addTo(g)
	}
	return l, nil
}

// loss computes one checked episode's losses and, with grad, adds scale times its
// gradient to w.grad.
func (w *ws32) loss(p *params32, s *Sample, scale float64, grad bool) Losses {
	c, m := p.C, p.M
	w.prepare(p, s)
	w.attend(p)
	w.feedForward(p)
	clear(w.dT)
	clear(w.dsa)
	w.project(c, m)
	var l Losses
	l.ImageScore, l.Image = imageLoss(s, w.sa, w.dsa)
	l.Focal, l.Dice = w.pix.loss32(s, w.sa, w.dsa, w.be.Threads())
	for a := range m {
		w.tn[a] = norm32(w.out[a*c : (a+1)*c])
	}
	l.Disc = w.disc(s, c, m)
	l.Orth = w.orth(c, m)
	if !grad {
		return l
	}
	w.projectBack(c, m)
	if scale != 1 {
		for i := range w.dT {
			w.dT[i] *= float32(scale)
		}
	}
	w.backward(p)
	return l
}
