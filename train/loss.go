package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

var sqrt = math.Sqrt

// Loss weights of spec §8.
const (
	WeightDisc = 1.0
	WeightOrth = 0.8
	focalAlpha = 0.25
	maskLogit  = -1e9
)

// Sample is the parameter-independent part of one training episode.
type Sample struct {
	C      int
	Keys   []float64 // [na, C] abnormal reference features plus position code
	Values []float64 // [na, C] NVE-denoised abnormal reference features d^a
	Defect []bool    // [na] defect patches of the abnormal references

	G     int       // query grid side (N = G²)
	Dev   []float64 // [N, C] NVE-denoised query deviations
	SN    []float64 // [N] normal scores s_n
	Label int       // 0 normal, 1 abnormal
	Side  int       // mask side S
	Mask  []float64 // [S·S] query pixel mask in {0, 1}

	// Dropout in training (spec §6: rate 0.1, training only), as in the authors'
	// DETR-style cross-attention layer: nn.MultiheadAttention's dropout on the
	// attention weights and the layer's dropout on the attention output before the
	// residual (the FFN has none). Each kept value is scaled by 1/(1 − rate). The masks
	// are drawn from DropSeed alone, so an episode's loss and gradient do not depend on
	// the goroutine that computes it. DropRate 0 (the default) is the evaluation mode.
	DropRate float64
	DropSeed uint64
}

func (s *Sample) check(p *Params) error {
	c := p.C
	if s.C != c {
		return fmt.Errorf("train: sample width %d, head width %d", s.C, c)
	}
	na := len(s.Defect)
	n := s.G * s.G
	switch {
	case na == 0 || len(s.Keys) != na*c || len(s.Values) != na*c:
		return fmt.Errorf("train: sample has %d defect flags, %d key and %d value values (width %d)", na, len(s.Keys), len(s.Values), c)
	case n == 0 || len(s.Dev) != n*c || len(s.SN) != n:
		return fmt.Errorf("train: sample on a %d grid has %d deviation and %d normal-score values", s.G, len(s.Dev), len(s.SN))
	case s.Side < 1 || len(s.Mask) != s.Side*s.Side:
		return fmt.Errorf("train: sample mask has %d values, want %d²", len(s.Mask), s.Side)
	case s.Label != 0 && s.Label != 1:
		return fmt.Errorf("train: sample label %d, want 0 or 1", s.Label)
	case !(s.DropRate >= 0 && s.DropRate < 1):
		return fmt.Errorf("train: dropout rate %v, want 0 ≤ rate < 1", s.DropRate)
	}
	return nil
}

// Losses are the parts of the training loss of one episode.
type Losses struct {
	Image, Focal, Dice, Disc, Orth float64
	ImageScore                     float64
}

// Pixel is L_focal + L_dice + 1.0·L_disc + 0.8·L_orth (the fixture's loss_pixel_total).
func (l Losses) Pixel() float64 { return l.Focal + l.Dice + WeightDisc*l.Disc + WeightOrth*l.Orth }

// Total is L_img + Pixel().
func (l Losses) Total() float64 { return l.Image + l.Pixel() }

// Add accumulates o into l (for batch means).
func (l *Losses) Add(o Losses, scale float64) {
	l.Image += scale * o.Image
	l.Focal += scale * o.Focal
	l.Dice += scale * o.Dice
	l.Disc += scale * o.Disc
	l.Orth += scale * o.Orth
	l.ImageScore += scale * o.ImageScore
}

// encoder keeps the activations of the IDE forward pass.
type encoder struct {
	q, k, v, prob, att, x1, h1, r1, t1, hid, act, x2, h2, r2, out []float64
	keys, values                                                  []float64 // the attended rows
	dropA, dropO                                                  []float64 // dropout multipliers (nil: none) of the attention weights [H, M, na] and output [M, C]
	masked                                                        bool      // no defect row: every row attended with the mask logit
	na                                                            int
}

// attended returns the key and value rows that can get attention: the defect rows.
// The others get the mask logit −1e9, whose softmax weight is exactly 0 in float64, so
// leaving them out changes neither the output nor the gradients. Without any defect
// row all rows are kept (and all masked, as in the authors' code).
func attended(s *Sample) (keys, values []float64, masked bool) {
	c := s.C
	for j, d := range s.Defect {
		if d {
			keys = append(keys, s.Keys[j*c:(j+1)*c]...)
			values = append(values, s.Values[j*c:(j+1)*c]...)
		}
	}
	if keys == nil {
		return s.Keys, s.Values, true
	}
	return keys, values, false
}

// encode runs T* = LN_out(T' + FFN(T')), T' = LN(T + MHA(T, K, V)) keeping activations.
func encode(p *Params, s *Sample) *encoder {
	e := newEncoder(p, s)
	e.attend(p)
	e.feedForward(p)
	return e
}

// newEncoder allocates the activations of the forward pass over the attended rows of
// s and, in training, draws the dropout multipliers from s.DropSeed.
func newEncoder(p *Params, s *Sample) *encoder {
	c, m, H := p.C, p.M, p.Heads
	keys, values, masked := attended(s)
	na := len(keys) / c
	e := &encoder{na: na, keys: keys, values: values, masked: masked,
		q: make([]float64, m*c), k: make([]float64, na*c), v: make([]float64, na*c),
		prob: make([]float64, H*m*na), att: make([]float64, m*c),
		x1: make([]float64, m*c), h1: make([]float64, m*c), r1: make([]float64, m), t1: make([]float64, m*c),
		hid: make([]float64, m*4*c), act: make([]float64, m*4*c),
		x2: make([]float64, m*c), h2: make([]float64, m*c), r2: make([]float64, m), out: make([]float64, m*c)}
	if s.DropRate > 0 {
		rng := rand.New(rand.NewPCG(s.DropSeed, 0xd409))
		keep := 1 / (1 - s.DropRate)
		e.dropA, e.dropO = make([]float64, H*m*na), make([]float64, m*c)
		for _, d := range [][]float64{e.dropA, e.dropO} {
			for i := range d {
				if rng.Float64() >= s.DropRate {
					d[i] = keep
				}
			}
		}
	}
	return e
}

// attend computes the q/k/v projections and the multi-head attention of the vectors T
// over the attended rows: the softmax weights into e.prob and their (dropped-out)
// combination of the values into e.att.
func (e *encoder) attend(p *Params) {
	c, m, H := p.C, p.M, p.Heads
	na := e.na
	dh := c / H
	linear(e.q, p.T, m, c, p.InW[:c*c], p.InB[:c], c)
	linear(e.k, e.keys, na, c, p.InW[c*c:2*c*c], p.InB[c:2*c], c)
	linear(e.v, e.values, na, c, p.InW[2*c*c:], p.InB[2*c:], c)
	scale := 1 / math.Sqrt(float64(dh))
	for h := 0; h < H; h++ {
		for i := 0; i < m; i++ {
			pr := e.prob[(h*m+i)*na : (h*m+i+1)*na]
			qi := e.q[i*c+h*dh : i*c+(h+1)*dh]
			mx := math.Inf(-1)
			for j := 0; j < na; j++ {
				kj := e.k[j*c+h*dh : j*c+(h+1)*dh]
				var d float64
				for t, a := range qi {
					d += a * kj[t]
				}
				d *= scale
				if e.masked {
					d += maskLogit
				}
				pr[j] = d
				mx = max(mx, d)
			}
			var sum float64
			for j := range pr {
				pr[j] = math.Exp(pr[j] - mx)
				sum += pr[j]
			}
			ai := e.att[i*c+h*dh : i*c+(h+1)*dh]
			for j := range pr {
				pr[j] /= sum
				w := pr[j]
				if e.dropA != nil {
					w *= e.dropA[(h*m+i)*na+j]
				}
				vj := e.v[j*c+h*dh : j*c+(h+1)*dh]
				for t, a := range vj {
					ai[t] += w * a
				}
			}
		}
	}
}

// feedForward runs the rest of the layer from e.att: the output projection with its
// (dropped-out) residual and LayerNorm into T', then the GELU FFN with its residual
// and the output LayerNorm into T* (e.out).
func (e *encoder) feedForward(p *Params) {
	c, m := p.C, p.M
	linear(e.x1, e.att, m, c, p.OutW, p.OutB, c)
	for i, t := range p.T {
		if e.dropO != nil {
			e.x1[i] *= e.dropO[i]
		}
		e.x1[i] += t
	}
	layerNorm(e.t1, e.h1, e.r1, e.x1, m, c, p.N1W, p.N1B, 1e-5)
	linear(e.hid, e.t1, m, c, p.FC1W, p.FC1B, 4*c)
	for i, x := range e.hid {
		e.act[i] = 0.5 * x * (1 + math.Erf(x/math.Sqrt2))
	}
	linear(e.x2, e.act, m, 4*c, p.FC2W, p.FC2B, c)
	for i, t := range e.t1 {
		e.x2[i] += t
	}
	layerNorm(e.out, e.h2, e.r2, e.x2, m, c, p.N2W, p.N2B, 1e-8)
}

// backward accumulates into g the gradients of the parameters given dOut = ∂L/∂T*.
func (e *encoder) backward(p *Params, s *Sample, dOut []float64, g *Params) {
	c, m, H := p.C, p.M, p.Heads
	na, dh := e.na, c/H
	dx2 := make([]float64, m*c)
	layerNormBack(dx2, dOut, e.h2, e.r2, m, c, p.N2W, g.N2W, g.N2B)
	dt1 := append([]float64(nil), dx2...) // residual
	dact := make([]float64, m*4*c)
	linearBack(dact, dx2, e.act, m, 4*c, p.FC2W, g.FC2W, g.FC2B, c)
	for i, x := range e.hid {
		cdf := 0.5 * (1 + math.Erf(x/math.Sqrt2))
		pdf := math.Exp(-x*x/2) / math.Sqrt(2*math.Pi)
		dact[i] *= cdf + x*pdf
	}
	linearBack(dt1, dact, e.t1, m, c, p.FC1W, g.FC1W, g.FC1B, 4*c)
	dx1 := make([]float64, m*c)
	layerNormBack(dx1, dt1, e.h1, e.r1, m, c, p.N1W, g.N1W, g.N1B)
	for i, d := range dx1 { // residual T
		g.T[i] += d
	}
	if e.dropO != nil { // dx1 is no longer needed as the residual's gradient
		for i := range dx1 {
			dx1[i] *= e.dropO[i]
		}
	}
	datt := make([]float64, m*c)
	linearBack(datt, dx1, e.att, m, c, p.OutW, g.OutW, g.OutB, c)
	dq, dk, dv := make([]float64, m*c), make([]float64, na*c), make([]float64, na*c)
	scale := 1 / math.Sqrt(float64(dh))
	dp := make([]float64, na)
	for h := 0; h < H; h++ {
		for i := 0; i < m; i++ {
			pr := e.prob[(h*m+i)*na : (h*m+i+1)*na]
			da := datt[i*c+h*dh : i*c+(h+1)*dh]
			var dot float64
			for j := 0; j < na; j++ {
				vj := e.v[j*c+h*dh : j*c+(h+1)*dh]
				dvj := dv[j*c+h*dh : j*c+(h+1)*dh]
				k := 1.0 // the dropout multiplier of this attention weight
				if e.dropA != nil {
					k = e.dropA[(h*m+i)*na+j]
				}
				var d float64
				for t, a := range da {
					d += a * vj[t]
					dvj[t] += k * pr[j] * a
				}
				dp[j] = k * d
				dot += pr[j] * dp[j]
			}
			qi := e.q[i*c+h*dh : i*c+(h+1)*dh]
			dqi := dq[i*c+h*dh : i*c+(h+1)*dh]
			for j := 0; j < na; j++ {
				dl := pr[j] * (dp[j] - dot) * scale
				if dl == 0 {
					continue
				}
				kj := e.k[j*c+h*dh : j*c+(h+1)*dh]
				dkj := dk[j*c+h*dh : j*c+(h+1)*dh]
				for t := range qi {
					dqi[t] += dl * kj[t]
					dkj[t] += dl * qi[t]
				}
			}
		}
	}
	linearBack(g.T, dq, p.T, m, c, p.InW[:c*c], g.InW[:c*c], g.InB[:c], c)
	linearBack(nil, dk, e.keys, na, c, p.InW[c*c:2*c*c], g.InW[c*c:2*c*c], g.InB[c:2*c], c)
	linearBack(nil, dv, e.values, na, c, p.InW[2*c*c:], g.InW[2*c*c:], g.InB[2*c:], c)
}

// Loss computes the training loss of one episode (spec §8) and, when g is not nil,
// adds scale·∂loss/∂p to g.
func Loss(p *Params, s *Sample, g *Params, scale float64) (Losses, error) {
	if err := s.check(p); err != nil {
		return Losses{}, err
	}
	c, m := p.C, p.M
	e := encode(p, s)
	ts := e.out
	dT := make([]float64, m*c)
	var l Losses

	pj := projectionScore(s, ts, m)
	dsa := make([]float64, s.G*s.G) // ∂loss/∂s_a
	l.ImageScore, l.Image = imageLoss(s, pj.sa, dsa)
	l.Focal, l.Dice = pixelLoss(s, pj.sa, dsa)
	tn := make([]float64, m) // ‖t*_m‖
	for a := range m {
		tn[a] = norm(ts[a*c : (a+1)*c])
	}
	l.Disc = discLoss(s, ts, tn, dT)
	l.Orth = orthLoss(ts, tn, dT)

	if g == nil {
		return l, nil
	}
	pj.backward(s, ts, dsa, dT)
	if scale != 1 {
		for i := range dT {
			dT[i] *= scale
		}
	}
	e.backward(p, s, dT, g)
	return l, nil
}

// projection keeps the forward values of the projection score s_a per query patch.
type projection struct {
	coef, pr     []float64 // coef = D T*ᵀ [N, M], pr = coef T* [N, C] (the projections d̃)
	dn, pn, dist []float64 // [N] ‖d‖ and ‖d̃‖ (clamped at 1e-12), ‖d/‖d‖ − d̃/‖d̃‖‖
	sa           []float64 // [N] s_a = 1 − dist/2
}

// projectionScore computes the projection score s_a of every query patch: how far its
// deviation d is, in direction, from its projection d̃ onto the rows of T* (ts, [m, C]).
func projectionScore(s *Sample, ts []float64, m int) *projection {
	c, n := s.C, s.G*s.G
	pj := &projection{coef: make([]float64, n*m), pr: make([]float64, n*c),
		dn: make([]float64, n), pn: make([]float64, n), dist: make([]float64, n), sa: make([]float64, n)}
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, gen(s.Dev, n, c), gen(ts, m, c), 0, gen(pj.coef, n, m))
	blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, gen(pj.coef, n, m), gen(ts, m, c), 0, gen(pj.pr, n, c))
	for i := 0; i < n; i++ {
		d, q := s.Dev[i*c:(i+1)*c], pj.pr[i*c:(i+1)*c]
		pj.dn[i], pj.pn[i] = max(norm(d), 1e-12), max(norm(q), 1e-12)
		var sq float64
		for j := range d {
			x := d[j]/pj.dn[i] - q[j]/pj.pn[i]
			sq += x * x
		}
		pj.dist[i] = math.Sqrt(sq)
		pj.sa[i] = 1 - pj.dist[i]/2
	}
	return pj
}

// backward adds to dT (∂loss/∂T*) the gradient that flows back through the projection
// score given dsa = ∂loss/∂s_a.
func (pj *projection) backward(s *Sample, ts, dsa, dT []float64) {
	c, n := s.C, s.G*s.G
	m := len(ts) / c
	dpr := make([]float64, n*c)
	for i := 0; i < n; i++ {
		if dsa[i] == 0 || pj.dist[i] == 0 {
			continue
		}
		d, q, dq := s.Dev[i*c:(i+1)*c], pj.pr[i*c:(i+1)*c], dpr[i*c:(i+1)*c]
		// s_a = 1 − ‖u − w‖/2 with u = d/‖d‖, w = d̃/‖d̃‖: ∂s_a/∂w = (u − w)/(2‖u − w‖),
		// then through the normalisation w = d̃/‖d̃‖.
		k := dsa[i] / (2 * pj.dist[i])
		var wd float64
		for j := range dq {
			w := q[j] / pj.pn[i]
			dq[j] = k * (d[j]/pj.dn[i] - w)
			wd += dq[j] * w
		}
		for j := range dq {
			dq[j] = (dq[j] - q[j]/pj.pn[i]*wd) / pj.pn[i]
		}
	}
	// d̃ = coef T*, coef = D T*ᵀ: ∂T* += coefᵀ ∂d̃ + (∂d̃ T*ᵀ)ᵀ D.
	dcoef := make([]float64, n*m)
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, gen(dpr, n, c), gen(ts, m, c), 0, gen(dcoef, n, m))
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, gen(pj.coef, n, m), gen(dpr, n, c), 1, gen(dT, m, c))
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, gen(dcoef, n, m), gen(s.Dev, n, c), 1, gen(dT, m, c))
}

// imageLoss returns the image score (the mean of the top max(1, N/100) values of the
// map A = (s_a + 1 − s_n)/2) and the cross-entropy on the logits [1 − score, score],
// and adds the loss's gradient with respect to s_a into dsa.
func imageLoss(s *Sample, sa, dsa []float64) (score, loss float64) {
	n := len(sa)
	A := make([]float64, n)
	for i := range A {
		A[i] = (sa[i] + 1 - s.SN[i]) / 2
	}
	cnt := max(1, n/100)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return A[order[a]] > A[order[b]] })
	var img float64
	for _, i := range order[:cnt] {
		img += A[i]
	}
	img /= float64(cnt)
	l0, l1 := 1-img, img
	mx := max(l0, l1)
	lse := mx + math.Log(math.Exp(l0-mx)+math.Exp(l1-mx))
	p1 := math.Exp(l1 - lse)
	if s.Label == 1 {
		loss = lse - l1
	} else {
		loss = lse - l0
	}
	dimg := 2 * (p1 - float64(s.Label)) // ∂/∂l1 − ∂/∂l0 = (p1 − y1) − (p0 − y0)
	for _, i := range order[:cnt] {
		dsa[i] += dimg / float64(cnt) / 2
	}
	return img, loss
}

// pixelLoss returns the focal and dice losses on the pixel logits [s_n; s_a] up-sampled
// to S×S and adds their gradient with respect to s_a into dsa.
func pixelLoss(s *Sample, sa, dsa []float64) (focal, dice float64) {
	var pw pixelWork
	return pw.loss(s, sa, dsa)
}

// pixelWork holds pixelLoss's buffers for reuse.
type pixelWork struct {
	up0, up1, dup1, q1 []float64
	red                []float64 // loss32: the pixel rows reduced along x
	probs              [][2]float64
}

func (pw *pixelWork) loss(s *Sample, sa, dsa []float64) (focal, dice float64) {
	S := s.Side
	up0 := bilinearInto(fit64(&pw.up0, S*S), s.SN, s.G, S)
	up1 := bilinearInto(fit64(&pw.up1, S*S), sa, s.G, S)
	dup1 := fit64(&pw.dup1, S*S)
	clear(dup1)
	if cap(pw.probs) < S*S {
		pw.probs = make([][2]float64, S*S)
	}
	focal = focalLoss(up0, up1, s.Mask, dup1)
	dice = diceLoss(up0, up1, s.Mask, dup1, pw.probs[:S*S])
	bilinearBack(dsa, dup1, s.G, S)
	return focal, dice
}

// focalLoss returns the sigmoid focal loss (α = 0.25, γ = 2) of the two logit channels
// against the mask (channel 0 against 1 − mask), averaged over both channels, and adds
// its gradient with respect to the channel-1 logits into dup1.
func focalLoss(up0, up1, mask, dup1 []float64) float64 {
	nel := float64(2 * len(mask))
	var focal float64
	for i, t1 := range mask {
		for ch, x := range [2]float64{up0[i], up1[i]} {
			t := t1
			if ch == 0 {
				t = 1 - t1
			}
			pp := 1 / (1 + math.Exp(-x))
			ce := max(x, 0) - x*t + math.Log1p(math.Exp(-math.Abs(x)))
			pt := pp*t + (1-pp)*(1-t)
			at := focalAlpha*t + (1-focalAlpha)*(1-t)
			focal += at * ce * (1 - pt) * (1 - pt) / nel
			if ch == 1 {
				dpt := pp * (1 - pp) * (2*t - 1)
				dup1[i] += at * ((pp-t)*(1-pt)*(1-pt) - 2*ce*(1-pt)*dpt) / nel
			}
		}
	}
	return focal
}

// diceLoss returns the dice loss (smoothing 1) of the two-channel softmax of the logits
// against [1 − mask, mask], summed over the channels, and adds its gradient with
// respect to the channel-1 logits into dup1.
func diceLoss(up0, up1, mask, dup1 []float64, probs [][2]float64) float64 {
	var inter, psum, tsum [2]float64
	for i, t1 := range mask {
		q1 := 1 / (1 + math.Exp(up0[i]-up1[i]))
		probs[i] = [2]float64{1 - q1, q1}
		for ch, t := range [2]float64{1 - t1, t1} {
			inter[ch] += probs[i][ch] * t
			psum[ch] += probs[i][ch]
			tsum[ch] += t
		}
	}
	var dice float64
	var den [2]float64
	for ch := range 2 {
		den[ch] = psum[ch] + tsum[ch] + 1
		dice += 1 - (2*inter[ch]+1)/den[ch]
	}
	for i, t1 := range mask {
		var dp [2]float64
		for ch, t := range [2]float64{1 - t1, t1} {
			dp[ch] = -(2*t*den[ch] - (2*inter[ch] + 1)) / (den[ch] * den[ch])
		}
		q0, q1 := probs[i][0], probs[i][1]
		dup1[i] += (dp[1] - dp[0]) * q0 * q1
	}
	return dice
}

// discLoss returns L_disc, the mean over the abnormal reference patches of
// min_m (1 − cos(d^a_j, t*_m)) (a non-defect patch counts 1), and adds its weighted
// (WeightDisc) gradient into dT. tn holds the row norms of ts.
func discLoss(s *Sample, ts, tn, dT []float64) float64 {
	c, m := s.C, len(tn)
	na := len(s.Defect)
	var disc float64
	for j := 0; j < na; j++ {
		if !s.Defect[j] {
			disc += 1 / float64(na)
			continue
		}
		x := s.Values[j*c : (j+1)*c]
		xn := norm(x)
		best, bc := -1, 0.0
		for a := range m {
			ta := ts[a*c : (a+1)*c]
			var dot float64
			for t, v := range x {
				dot += v * ta[t]
			}
			cs := dot / max(xn*tn[a], 1e-8)
			if best < 0 || cs > bc {
				best, bc = a, cs
			}
		}
		disc += (1 - bc) / float64(na)
		if xn*tn[best] > 1e-8 {
			ta := ts[best*c : (best+1)*c]
			dta := dT[best*c : (best+1)*c]
			k := WeightDisc / float64(na)
			for t, v := range x {
				dta[t] -= k * (v/(xn*tn[best]) - bc*ta[t]/(tn[best]*tn[best]))
			}
		}
	}
	return disc
}

// orthLoss returns L_orth, the mean over m, m' of (t̂_m·t̂_m' − δ)² for the normalised
// rows t̂ of ts, and adds its weighted (WeightOrth) gradient into dT. tn holds the row
// norms of ts.
func orthLoss(ts, tn, dT []float64) float64 {
	m := len(tn)
	c := len(ts) / m
	that := make([]float64, m*c)
	for a := range m {
		inv := 1 / max(tn[a], 1e-12)
		for t := range c {
			that[a*c+t] = ts[a*c+t] * inv
		}
	}
	var orth float64
	dhat := make([]float64, m*c)
	for a := range m {
		for b := range m {
			var dot float64
			for t := range c {
				dot += that[a*c+t] * that[b*c+t]
			}
			if a == b {
				dot--
			}
			orth += dot * dot / float64(m*m)
			k := WeightOrth * 2 * dot / float64(m*m)
			for t := range c { // ∂/∂t̂_a of this term (the (b,a) term adds the same to t̂_b)
				dhat[a*c+t] += k * that[b*c+t]
				dhat[b*c+t] += k * that[a*c+t]
			}
		}
	}
	for a := range m {
		var dot float64
		for t := range c {
			dot += dhat[a*c+t] * that[a*c+t]
		}
		inv := 1 / max(tn[a], 1e-12)
		for t := range c {
			dT[a*c+t] += (dhat[a*c+t] - that[a*c+t]*dot) * inv
		}
	}
	return orth
}

func norm(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s)
}

// taps are PyTorch's bilinear sampling positions (align_corners = false).
func taps(in, out int) (i0, i1 []int, l []float64) {
	i0, i1, l = make([]int, out), make([]int, out), make([]float64, out)
	sc := float64(in) / float64(out)
	for o := range out {
		s := max(0, (float64(o)+0.5)*sc-0.5)
		f := min(int(s), in-1)
		i0[o], i1[o], l[o] = f, min(f+1, in-1), s-float64(f)
	}
	return i0, i1, l
}

// bilinearInto up-samples a g×g grid to s×s into out, which it returns.
func bilinearInto(out, src []float64, g, s int) []float64 {
	i0, i1, l := taps(g, s)
	for y := range s {
		for x := range s {
			a, b := src[i0[y]*g:], src[i1[y]*g:]
			top := (1-l[x])*a[i0[x]] + l[x]*a[i1[x]]
			bot := (1-l[x])*b[i0[x]] + l[x]*b[i1[x]]
			out[y*s+x] = (1-l[y])*top + l[y]*bot
		}
	}
	return out
}

// bilinearBack adds the transpose of bilinear applied to dout into dsrc.
func bilinearBack(dsrc, dout []float64, g, s int) {
	i0, i1, l := taps(g, s)
	for y := range s {
		for x := range s {
			d := dout[y*s+x]
			wy0, wy1 := (1-l[y])*d, l[y]*d
			dsrc[i0[y]*g+i0[x]] += wy0 * (1 - l[x])
			dsrc[i0[y]*g+i1[x]] += wy0 * l[x]
			dsrc[i1[y]*g+i0[x]] += wy1 * (1 - l[x])
			dsrc[i1[y]*g+i1[x]] += wy1 * l[x]
		}
	}
}
