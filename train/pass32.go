package train

import (
	"math"
)

// attend computes q, k, v and the multi-head attention over the attended rows, as
// encoder.attend: the softmax weights into w.prob, their dropped-out copy into
// w.pdrop and the combination of the values into w.att.
func (w *ws32) attend(p *params32) {
	c, m, H := p.C, p.M, p.Heads
	na, dh := w.na, c/p.Heads
	w.linear(w.q, p.T, m, c, p.InW[:c*c], p.InB[:c], c)
	w.linear(w.k, w.keys, na, c, p.InW[c*c:2*c*c], p.InB[c:2*c], c)
	w.linear(w.v, w.values, na, c, p.InW[2*c*c:], p.InB[2*c:], c)
	scale := float32(1 / math.Sqrt(float64(dh)))
	for h := range H {
		w.gemm(false, true, m, na, dh, scale, w.q[h*dh:], c, w.k[h*dh:], c, 0, w.prob[h*m*na:(h+1)*m*na], na)
	}
	const per = 4 // rows per task: H·M is small
	parallelFor((H*m+per-1)/per, w.be.Threads(), func(u int) {
		buf := make([]float64, na)
		for r := u * per; r < min((u+1)*per, H*m); r++ {
			softmax32(w.prob[r*na:(r+1)*na], buf)
		}
	})
	copy(w.pdrop, w.prob)
	if w.dropA != nil {
		for i, d := range w.dropA {
			w.pdrop[i] *= d
		}
	}
	for h := range H {
		w.gemm(false, false, m, dh, na, 1, w.pdrop[h*m*na:(h+1)*m*na], na, w.v[h*dh:], c, 0, w.att[h*dh:], c)
	}
}

// softmax32 replaces the logits x by their softmax, in float64. The mask logit
// −1e9 that the float64 path adds to every logit when no row is a defect row
// cancels in the softmax (to float64's 1.2e-7 resolution at 1e9), so it is left out.
// buf (len(x) values) keeps the exponentials between the passes.
func softmax32(x []float32, buf []float64) {
	buf = buf[:len(x)]
	mx := math.Inf(-1)
	for _, v := range x {
		mx = max(mx, float64(v))
	}
	var sum float64
	for j, v := range x {
		e := math.Exp(float64(v) - mx)
		buf[j] = e
		sum += e
	}
	for j, e := range buf {
		x[j] = float32(e / sum)
	}
}

// feedForward is encoder.feedForward: T' = LN(T + drop(att Woᵀ + bo)), then
// T* = LN_out(T' + FFN(T')) into w.out.
func (w *ws32) feedForward(p *params32) {
	c, m := p.C, p.M
	w.linear(w.x1, w.att, m, c, p.OutW, p.OutB, c)
	for i, t := range p.T {
		if w.dropO != nil {
			w.x1[i] *= w.dropO[i]
		}
		w.x1[i] += t
	}
	layerNorm32(w.t1, w.h1, w.r1, w.x1, m, c, p.N1W, p.N1B, 1e-5)
	w.linear(w.hid, w.t1, m, c, p.FC1W, p.FC1B, 4*c)
	const per = 4096 // values per task
	parallelFor((len(w.hid)+per-1)/per, w.be.Threads(), func(u int) {
		lo := u * per
		for i, x := range w.hid[lo:min(lo+per, len(w.hid))] {
			cdf := 0.5 * (1 + math.Erf(float64(x)/math.Sqrt2))
			w.cdf[lo+i] = float32(cdf)
			w.act[lo+i] = float32(float64(x) * cdf)
		}
	})
	w.linear(w.x2, w.act, m, 4*c, p.FC2W, p.FC2B, c)
	for i, t := range w.t1 {
		w.x2[i] += t
	}
	layerNorm32(w.out, w.h2, w.r2, w.x2, m, c, p.N2W, p.N2B, 1e-8)
}

// backward accumulates into w.grad the gradients given w.dT = ∂L/∂T*.
func (w *ws32) backward(p *params32) {
	c, m := p.C, p.M
	g := &w.grad
	layerNormBack32(w.dx2, w.dT, w.h2, w.r2, m, c, p.N2W, g.N2W, g.N2B)
	copy(w.dt1, w.dx2) // residual
	w.linearBack(w.dact, false, w.dx2, w.act, m, 4*c, p.FC2W, g.FC2W, g.FC2B, c)
	for i, x := range w.hid {
		xf := float64(x)
		pdf := math.Exp(-xf*xf/2) / math.Sqrt(2*math.Pi)
		w.dact[i] = float32(float64(w.dact[i]) * (float64(w.cdf[i]) + xf*pdf))
	}
	w.linearBack(w.dt1, true, w.dact, w.t1, m, c, p.FC1W, g.FC1W, g.FC1B, 4*c)
	layerNormBack32(w.dx1, w.dt1, w.h1, w.r1, m, c, p.N1W, g.N1W, g.N1B)
	for i, d := range w.dx1 { // residual T
		g.T[i] += d
	}
	if w.dropO != nil {
		for i, d := range w.dropO {
			w.dx1[i] *= d
		}
	}
	w.linearBack(w.datt, false, w.dx1, w.att, m, c, p.OutW, g.OutW, g.OutB, c)
	w.attendBack(p)
	na := w.na
	w.linearBack(g.T, true, w.dq, p.T, m, c, p.InW[:c*c], g.InW[:c*c], g.InB[:c], c)
	w.linearBack(nil, false, w.dk, w.keys, na, c, p.InW[c*c:2*c*c], g.InW[c*c:2*c*c], g.InB[c:2*c], c)
	w.linearBack(nil, false, w.dv, w.values, na, c, p.InW[2*c*c:], g.InW[2*c*c:], g.InB[2*c:], c)
}

// attendBack computes dq, dk, dv from datt through the attention, head by head.
func (w *ws32) attendBack(p *params32) {
	c, m, H := p.C, p.M, p.Heads
	na, dh := w.na, c/p.Heads
	scale := 1 / math.Sqrt(float64(dh))
	dP := w.dP
	for h := range H {
		pr := w.prob[h*m*na : (h+1)*m*na]
		da := w.datt[h*dh:]
		w.gemm(false, true, m, na, dh, 1, da, c, w.v[h*dh:], c, 0, dP, na)
		w.gemm(true, false, na, dh, m, 1, w.pdrop[h*m*na:(h+1)*m*na], na, da, c, 0, w.dv[h*dh:], c)
		for i := range m {
			row, dp := pr[i*na:(i+1)*na], dP[i*na:(i+1)*na]
			if w.dropA != nil {
				for j, d := range w.dropA[(h*m+i)*na : (h*m+i+1)*na] {
					dp[j] *= d
				}
			}
			var dot float64
			for j, v := range row {
				dot += float64(v) * float64(dp[j])
			}
			for j, v := range row {
				dp[j] = float32(float64(v) * (float64(dp[j]) - dot) * scale)
			}
		}
		w.gemm(false, false, m, dh, na, 1, dP, na, w.k[h*dh:], c, 0, w.dq[h*dh:], c)
		w.gemm(true, false, na, dh, m, 1, dP, na, w.q[h*dh:], c, 0, w.dk[h*dh:], c)
	}
}
