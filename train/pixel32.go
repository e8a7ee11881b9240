package train

import "math"

// pixelChunks is the fixed split of the mask's rows into chunks for loss32: partial
// sums are added in chunk order, so the result does not depend on the threads.
const pixelChunks = 16

// loss32 is loss with the mask's rows cut into pixelChunks chunks computed on up to
// threads goroutines. The up-sampling is separable: each logit grid is first
// interpolated along x (G rows of S values), then each pixel row along y, with
// bilinearInto's arithmetic. The backward pass reduces each pixel row to G values
// along x, then adds the rows along y in order.
func (pw *pixelWork) loss32(s *Sample, sa, dsa []float64, threads int) (focal, dice float64) {
	S, G := s.Side, s.G
	n := S * S
	i0, i1, l := taps(G, S)
	h0 := upRows(fit64(&pw.up0, G*S), s.SN, G, S, i0, i1, l)
	h1 := upRows(fit64(&pw.up1, G*S), sa, G, S, i0, i1, l)
	dup1, q1 := fit64(&pw.dup1, n), fit64(&pw.q1, n)
	nel := float64(2 * n)
	var parts [pixelChunks][8]float64 // focal·nel; inter, psum, tsum of the two channels; padding
	per := (S + pixelChunks - 1) / pixelChunks
	parallelFor(pixelChunks, threads, func(k int) {
		row := make([]float64, 2*S)
		r0, r1 := row[:S], row[S:]
		for y := min(k*per, S); y < min((k+1)*per, S); y++ {
			a0, b0, a1, b1 := h0[i0[y]*S:(i0[y]+1)*S], h0[i1[y]*S:(i1[y]+1)*S], h1[i0[y]*S:(i0[y]+1)*S], h1[i1[y]*S:(i1[y]+1)*S]
			for x := range S {
				r0[x] = (1-l[y])*a0[x] + l[y]*b0[x]
				r1[x] = (1-l[y])*a1[x] + l[y]*b1[x]
			}
			pixelChunk((*[7]float64)(parts[k][:7]), r0, r1, s.Mask[y*S:(y+1)*S], dup1[y*S:(y+1)*S], q1[y*S:(y+1)*S], 1/nel)
		}
	})
	var tot [7]float64
	for _, p := range parts {
		for i, v := range p[:7] {
			tot[i] += v
		}
	}
	var dp [2][2]float64 // ∂dice/∂prob of channel ch for target 0 and 1
	for ch := range 2 {
		inter, den := tot[1+ch], tot[3+ch]+tot[5+ch]+1
		dice += 1 - (2*inter+1)/den
		for t := range 2 {
			dp[ch][t] = -(2*float64(t)*den - (2*inter + 1)) / (den * den)
		}
	}
	coef := [2]float64{dp[1][0] - dp[0][1], dp[1][1] - dp[0][0]}
	red := fit64(&pw.red, S*G)
	parallelFor(pixelChunks, threads, func(k int) {
		for y := min(k*per, S); y < min((k+1)*per, S); y++ {
			backRow(red[y*G:(y+1)*G], dup1[y*S:(y+1)*S], q1[y*S:(y+1)*S], s.Mask[y*S:(y+1)*S], coef, i0, i1, l)
		}
	})
	for y := range S {
		a, b, rr := dsa[i0[y]*G:(i0[y]+1)*G], dsa[i1[y]*G:(i1[y]+1)*G], red[y*G:(y+1)*G]
		for x, v := range rr {
			a[x] += (1 - l[y]) * v
			b[x] += l[y] * v
		}
	}
	return tot[0] / nel, dice
}

// upRows interpolates each of the g rows of the g×g grid src to s values along x
// into h [g, s], which it returns.
func upRows(h, src []float64, g, s int, i0, i1 []int, l []float64) []float64 {
	for r := range g {
		a, out := src[r*g:(r+1)*g], h[r*s:(r+1)*s]
		for x := range s {
			out[x] = (1-l[x])*a[i0[x]] + l[x]*a[i1[x]]
		}
	}
	return h
}

// backRow adds the dice gradient to a pixel row's channel-1 logit gradient dup1 and
// reduces the row along x into rr (g values).
func backRow(rr, dup1, q1, mask []float64, coef [2]float64, i0, i1 []int, l []float64) {
	clear(rr)
	for x, t := range mask {
		q := q1[x]
		d := dup1[x] + coef[int(t)]*(1-q)*q
		dup1[x] = d
		rr[i0[x]] += (1 - l[x]) * d
		rr[i1[x]] += l[x] * d
	}
}

// pixelChunk adds the focal loss terms and the dice sums of a row of pixels to r,
// writes the focal gradient (times inel, 1/the number of values) of the channel-1
// logits into dup1 and the channel-1 softmax probabilities into q1.
func pixelChunk(r *[7]float64, up0, up1, mask, dup1, q1 []float64, inel float64) {
	up0, up1, dup1, q1 = up0[:len(mask)], up1[:len(mask)], dup1[:len(mask)], q1[:len(mask)]
	var f, inter0, inter1, p0, p1, t0s, t1s float64 // the row's sums, in registers
	for i, t1 := range mask {
		x0, x1 := up0[i], up1[i]
		f1, d1 := focalTerm(x1, t1)
		f += focalValue(x0, 1-t1) + f1
		dup1[i] = d1 * inel
		z := x0 - x1
		ez := expNeg(-math.Abs(z))
		q := 1 / (1 + ez) // 1/(1 + exp(z)) = sigmoid(−z)
		if z > 0 {
			q = ez * q
		}
		q1[i] = q
		inter0 += (1 - q) * (1 - t1)
		inter1 += q * t1
		p0 += 1 - q
		p1 += q
		t0s += 1 - t1
		t1s += t1
	}
	for i, v := range [7]float64{f, inter0, inter1, p0, p1, t0s, t1s} {
		r[i] += v
	}
}

// focalValue is focalTerm's loss alone.
func focalValue(x, t float64) float64 {
	l, _ := focalTerm(x, t)
	return l
}

// focalTerm is the focal loss of one logit x against target t (α = 0.25, γ = 2)
// and its derivative in x.
func focalTerm(x, t float64) (loss, d float64) {
	e := expNeg(-math.Abs(x))
	pp := 1 / (1 + e) // sigmoid(x)
	if x < 0 {
		pp = e * pp
	}
	ce := max(x, 0) - x*t + log1pUnit(e)
	pt := pp*t + (1-pp)*(1-t)
	at := focalAlpha*t + (1-focalAlpha)*(1-t)
	dpt := pp * (1 - pp) * (2*t - 1)
	return at * ce * (1 - pt) * (1 - pt), at * ((pp-t)*(1-pt)*(1-pt) - 2*ce*(1-pt)*dpt)
}

// log1pUnit is log(1+e) for e in [0, 1] within 4e-12 (absolute): a degree-13
// polynomial in 2e−1 (Chebyshev interpolation of log1p, in monomial form), with no
// division or branch.
func log1pUnit(e float64) float64 {
	t := 2*e - 1
	t2 := t * t
	t4 := t2 * t2
	p0 := 0.40546510810556646 + 0.33333333333414045*t
	p1 := -0.055555555301173482 + 0.012345678933017509*t
	p2 := -0.0030864238027587627 + 0.00082304653092749708*t
	p3 := -0.00022859963255569631 + 6.5313548559512664e-05*t
	p4 := -1.911947934563063e-05 + 5.6660883912044794e-06*t
	p5 := -1.5976457206079433e-06 + 4.8328658932720157e-07*t
	p6 := -2.219611577710826e-07 + 6.8557447560227806e-08*t
	q0 := p0 + p1*t2
	q1 := p2 + p3*t2
	q2 := p4 + p5*t2
	return q0 + q1*t4 + (q2+p6*t4)*(t4*t4)
}

// expNeg is exp(y) for y ≤ 0 within a relative 1e-14, exp(−700) below −700: y =
// k·ln2 + r with |r| ≤ ln2/2 (Cody–Waite), a degree-11 Taylor polynomial of exp(r)
// and the exponent 2^k set in the bits, with no branch.
func expNeg(y float64) float64 {
	const (
		log2e = 1.44269504088896338700e+00
		ln2hi = 6.93147180369123816490e-01
		ln2lo = 1.90821492927058770002e-10
		round = 6755399441055744.0 // 1.5·2⁵²: adding it rounds to an integer
	)
	y = max(y, -700)
	k := (y*log2e + round) - round
	r := (y - k*ln2hi) - k*ln2lo
	r2 := r * r
	r4 := r2 * r2
	p0 := 1 + r
	p1 := 1.0/2 + r*(1.0/6)
	p2 := 1.0/24 + r*(1.0/120)
	p3 := 1.0/720 + r*(1.0/5040)
	p4 := 1.0/40320 + r*(1.0/362880)
	p5 := 1.0/3628800 + r*(1.0/39916800)
	p := (p0 + p1*r2) + (p2+p3*r2)*r4 + (p4+p5*r2)*(r4*r4)
	return p * math.Float64frombits(uint64(int64(k)+1023)<<52)
}
