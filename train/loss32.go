package train

import (
	"math"
	"math/rand/v2"

	"github.com/ideal-fsad/ideal/cpu"
)

// ws32 is one worker's float32 workspace: the activations of an episode's forward
// pass, the buffers of its backward pass and the worker's gradient sums, all reused
// from episode to episode. Matrix products run on the CPU backend's packed kernels
// (cpu.Backend.Gemm); row statistics, norms and the losses accumulate in float64.
type ws32 struct {
	be   *cpu.Backend
	grad params32 // gradient sums of the worker's episodes

	na, n                int
	masked               bool
	keys, values, dev    []float32 // attended rows [na, C], query deviations [N, C]
	q, k, v, prob, pdrop []float32 // pdrop: prob times the dropout multipliers (or prob)
	att, x1, h1, t1, r1  []float32
	hid, cdf, act        []float32 // FFN pre-activation, Φ(hid), GELU
	x2, h2, r2, out      []float32
	dropA, dropO         []float32

	coef, pr, dT, dpr, dcoef []float32
	dn, pn, dist, sa, dsa    []float64
	tn                       []float64
	that, gram, dhat, cos    []float32

	dx2, dt1, dact, dx1, datt, dq, dk, dv, dP []float32
	pix                                       pixelWork
}

// fit32 returns buf resized to n values, reallocating only when it is too small.
func fit32(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

func fit64(buf *[]float64, n int) []float64 {
	if cap(*buf) < n {
		*buf = make([]float64, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// prepare sizes the workspace for s, copies its attended rows and deviations to
// float32 and draws its dropout multipliers (the same draws as newEncoder).
func (w *ws32) prepare(p *params32, s *Sample) {
	c, m, H := p.C, p.M, p.Heads
	n := s.G * s.G
	w.n = n
	nd := 0
	for _, d := range s.Defect {
		if d {
			nd++
		}
	}
	w.masked = nd == 0
	if w.masked {
		nd = len(s.Defect)
	}
	na := nd
	w.na = na
	w.keys, w.values = fit32(&w.keys, na*c), fit32(&w.values, na*c)
	r := 0
	for j, d := range s.Defect {
		if d || w.masked {
			toF32(w.keys[r*c:(r+1)*c], s.Keys[j*c:(j+1)*c])
			toF32(w.values[r*c:(r+1)*c], s.Values[j*c:(j+1)*c])
			r++
		}
	}
	toF32(fit32(&w.dev, n*c), s.Dev)
	for _, b := range []*[]float32{&w.q, &w.att, &w.x1, &w.h1, &w.t1, &w.x2, &w.h2, &w.out, &w.dT, &w.that, &w.dhat,
		&w.dx2, &w.dt1, &w.dx1, &w.datt, &w.dq} {
		fit32(b, m*c)
	}
	for _, b := range []*[]float32{&w.hid, &w.cdf, &w.act, &w.dact} {
		fit32(b, m*4*c)
	}
	fit32(&w.k, na*c)
	fit32(&w.v, na*c)
	fit32(&w.dk, na*c)
	fit32(&w.dv, na*c)
	fit32(&w.prob, H*m*na)
	fit32(&w.pdrop, H*m*na)
	fit32(&w.dP, m*na)
	fit32(&w.r1, m)
	fit32(&w.r2, m)
	fit32(&w.cos, na*m)
	fit32(&w.gram, m*m)
	for _, b := range []*[]float32{&w.coef, &w.dcoef} {
		fit32(b, n*m)
	}
	fit32(&w.pr, n*c)
	fit32(&w.dpr, n*c)
	for _, b := range []*[]float64{&w.dn, &w.pn, &w.dist, &w.sa, &w.dsa} {
		fit64(b, n)
	}
	fit64(&w.tn, m)
	w.drawDropout(s, H*m*na, m*c)
}

// drawDropout draws the dropout multipliers from s.DropSeed in newEncoder's order.
func (w *ws32) drawDropout(s *Sample, na, no int) {
	if s.DropRate == 0 {
		w.dropA, w.dropO = nil, nil
		return
	}
	rng := rand.New(rand.NewPCG(s.DropSeed, 0xd409))
	keep := float32(1 / (1 - s.DropRate))
	w.dropA, w.dropO = fit32(&w.dropA, na), fit32(&w.dropO, no)
	for _, d := range [][]float32{w.dropA, w.dropO} {
		for i := range d {
			d[i] = 0
			if rng.Float64() >= s.DropRate {
				d[i] = keep
			}
		}
	}
}

func toF32(dst []float32, src []float64) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = float32(v)
	}
}

// gemm is C = alpha·op(A)·op(B) + beta·C on the worker's backend.
func (w *ws32) gemm(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	w.be.Gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// linear is y[n,out] = x[n,in] Wᵀ + b (W is [out,in]).
func (w *ws32) linear(y, x []float32, n, in int, wt, b []float32, out int) {
	w.gemm(false, true, n, out, in, 1, x, in, wt, in, 0, y, out)
	for i := range n {
		row := y[i*out : (i+1)*out]
		for j, v := range b {
			row[j] += v
		}
	}
}

// linearBack accumulates the gradients of y = x Wᵀ + b: dx = dy W (+ dx when
// accDx; dx nil: none), dW += dyᵀ x, db += Σ_rows dy.
func (w *ws32) linearBack(dx []float32, accDx bool, dy, x []float32, n, in int, wt, dw, db []float32, out int) {
	if dx != nil {
		beta := float32(0)
		if accDx {
			beta = 1
		}
		w.gemm(false, false, n, in, out, 1, dy, out, wt, in, beta, dx, in)
	}
	w.gemm(true, false, out, in, n, 1, dy, out, x, in, 1, dw, in)
	colSum(db, dy, n, out)
}

// colSum adds the column sums of x [n, c] to db, accumulating in float64.
func colSum(db, x []float32, n, c int) {
	for j := range c {
		var s float64
		for i := range n {
			s += float64(x[i*c+j])
		}
		db[j] += float32(s)
	}
}

// layerNorm32 is layerNorm in float32 with float64 row statistics.
func layerNorm32(y, xhat, rstd, x []float32, n, c int, g, b []float32, eps float64) {
	for i := range n {
		row := x[i*c : (i+1)*c]
		var mu, v float64
		for _, a := range row {
			mu += float64(a)
		}
		mu /= float64(c)
		for _, a := range row {
			v += (float64(a) - mu) * (float64(a) - mu)
		}
		r := 1 / math.Sqrt(v/float64(c)+eps)
		rstd[i] = float32(r)
		for j, a := range row {
			h := (float64(a) - mu) * r
			xhat[i*c+j] = float32(h)
			y[i*c+j] = float32(h)*g[j] + b[j]
		}
	}
}

// layerNormBack32 writes dx from dy and accumulates dg, db.
func layerNormBack32(dx, dy, xhat, rstd []float32, n, c int, g, dg, db []float32) {
	for j := range c {
		var sg, sb float64
		for i := range n {
			d := float64(dy[i*c+j])
			sg += d * float64(xhat[i*c+j])
			sb += d
		}
		dg[j] += float32(sg)
		db[j] += float32(sb)
	}
	for i := range n {
		var m1, m2 float64
		for j := range c {
			dh := float64(dy[i*c+j]) * float64(g[j])
			m1 += dh
			m2 += dh * float64(xhat[i*c+j])
		}
		m1 /= float64(c)
		m2 /= float64(c)
		r := float64(rstd[i])
		for j := range c {
			dh := float64(dy[i*c+j]) * float64(g[j])
			dx[i*c+j] = float32(r * (dh - m1 - float64(xhat[i*c+j])*m2))
		}
	}
}
