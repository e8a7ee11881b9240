package cpu

import "math"

// exp32 is e^x in float32 to about 2 ulp: x = n·ln2 + r with |r| ≤ ln2/2, a
// degree-7 polynomial for e^r, and 2^n assembled in the exponent bits. Inputs below
// −87.3 give 0 (the float32 normal range ends there), above 88.7 +Inf; NaN gives NaN.
func exp32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x < -87.3:
		return 0
	case x > 88.7:
		return float32(math.Inf(1))
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	t := x * log2e
	var n float32
	if t >= 0 {
		n = float32(int32(t + 0.5))
	} else {
		n = float32(int32(t - 0.5))
	}
	r := x - n*ln2hi - n*ln2lo
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	if n < -125 { // 2^n is subnormal: scale in two steps
		return p * math.Float32frombits(uint32(n+126+127)<<23) * 0x1p-126
	}
	if n > 127 { // 2^n overflows on its own: scale in two steps
		return p * math.Float32frombits(uint32(n-1+127)<<23) * 2
	}
	return p * math.Float32frombits(uint32(n+127)<<23)
}

// gelu32 is x·Φ(x) = x/2 · erfc(−x/√2) with the exact erf form. erfc comes from the
// Chebyshev fit of Numerical Recipes' erfcc (fractional error < 1.2e-7 everywhere),
// so the negative tail, where GELU(x) → 0, keeps its relative accuracy.
func gelu32(x float32) float32 {
	z := x * (1 / math.Sqrt2)
	az := z
	if az < 0 {
		az = -az
	}
	t := 1 / (1 + 0.5*az)
	q := t * exp32(-az*az-1.26551223+t*(1.00002368+t*(0.37409196+t*(0.09678418+t*(-0.18628806+
		t*(0.27886807+t*(-1.13520398+t*(1.48851587+t*(-0.82215223+t*0.17087277))))))))) // erfc(|z|)
	if z <= 0 {
		return 0.5 * x * q
	}
	return 0.5 * x * (2 - q)
}

func geluSlice(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = gelu32(v)
	}
}

// expShiftSum writes dst = exp(x − shift) and returns Σ dst.
func expShiftSum(dst, x []float32, shift float32) float32 {
	x = x[:len(dst)]
	var s float32
	for i, v := range x {
		e := exp32(v - shift)
		dst[i] = e
		s += e
	}
	return s
}
