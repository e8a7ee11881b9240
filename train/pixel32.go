package train

import "math"

// pixelChunks is the fixed split of the mask into chunks for loss32: partial sums
// are added in chunk order, so the result does not depend on the threads.
const pixelChunks = 16

// loss32 is loss with the pixels cut into pixelChunks chunks computed on up to
// threads goroutines, each pixel's sigmoid and log1p sharing one exp.
func (pw *pixelWork) loss32(s *Sample, sa, dsa []float64, threads int) (focal, dice float64) {
	S := s.Side
	n := S * S
	up0 := bilinearInto(fit64(&pw.up0, n), s.SN, s.G, S)
	up1 := bilinearInto(fit64(&pw.up1, n), sa, s.G, S)
	dup1, q1 := fit64(&pw.dup1, n), fit64(&pw.q1, n)
	var parts [pixelChunks][7]float64 // focal; inter, psum, tsum of the two channels
	per := (n + pixelChunks - 1) / pixelChunks
	parallelFor(pixelChunks, threads, func(k int) {
		lo, hi := min(k*per, n), min((k+1)*per, n)
		parts[k] = pixelChunk(up0[lo:hi], up1[lo:hi], s.Mask[lo:hi], dup1[lo:hi], q1[lo:hi], float64(2*n))
	})
	var tot [7]float64
	for _, p := range parts {
		for i, v := range p {
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
	parallelFor(pixelChunks, threads, func(k int) {
		for i := min(k*per, n); i < min((k+1)*per, n); i++ {
			t := int(s.Mask[i])
			q := q1[i]
			dup1[i] += (dp[1][t] - dp[0][1-t]) * (1 - q) * q
		}
	})
	bilinearBack(dsa, dup1, s.G, S)
	return tot[0], dice
}

// pixelChunk computes the focal loss terms (over nel values) and the dice sums of a
// chunk of pixels, writes the focal gradient of the channel-1 logits into dup1 and
// the channel-1 softmax probabilities into q1.
func pixelChunk(up0, up1, mask, dup1, q1 []float64, nel float64) (r [7]float64) {
	for i, t1 := range mask {
		x0, x1 := up0[i], up1[i]
		f0, _ := focalTerm(x0, 1-t1)
		f1, d1 := focalTerm(x1, t1)
		r[0] += (f0 + f1) / nel
		dup1[i] = d1 / nel
		q := 1 / (1 + math.Exp(x0-x1))
		q1[i] = q
		r[1] += (1 - q) * (1 - t1)
		r[2] += q * t1
		r[3] += 1 - q
		r[4] += q
		r[5] += 1 - t1
		r[6] += t1
	}
	return r
}

// focalTerm is the focal loss of one logit x against target t (α = 0.25, γ = 2)
// and its derivative in x.
func focalTerm(x, t float64) (loss, d float64) {
	e := math.Exp(-math.Abs(x))
	pp := 1 / (1 + e) // sigmoid(x)
	if x < 0 {
		pp = e / (1 + e)
	}
	ce := max(x, 0) - x*t + math.Log(1+e) // e ∈ (0, 1]: log1p's precision is not needed
	pt := pp*t + (1-pp)*(1-t)
	at := focalAlpha*t + (1-focalAlpha)*(1-t)
	dpt := pp * (1 - pp) * (2*t - 1)
	return at * ce * (1 - pt) * (1 - pt), at * ((pp-t)*(1-pt)*(1-pt) - 2*ce*(1-pt)*dpt)
}
