package imaging

import (
	"fmt"
	"math"
)

// linearTap is PyTorch's source position for linear interpolation with
// align_corners = false and no explicit scale factor, in float32 as PyTorch computes
// it for float tensors: src = max((dst + ½)·in/out − ½, 0), interpolating between
// samples i0 and i1 (= i0 + 1, or i0 at the last sample) with weights l0, l1.
func linearTap(dst, in, out int) (i0, i1 int, l0, l1 float32) {
	scale := float32(in) / float32(out)
	src := float32(float32(scale*float32(float32(dst)+0.5)) - 0.5)
	if src < 0 {
		src = 0
	}
	i0 = int(src)
	i1 = i0
	if i0 < in-1 {
		i1 = i0 + 1
	}
	l1 = min(max(src-float32(i0), 0), 1)
	return i0, i1, 1 - l1, l1
}

// UpsampleBilinear resizes a gh×gw map (row-major) to h×w with bilinear interpolation
// as torch.nn.functional.interpolate(mode="bilinear", align_corners=False) does with
// an output size (not a scale factor): float32 weights, the two horizontal blends of
// each output sample combined vertically. Any sizes, up or down (no anti-aliasing).
func UpsampleBilinear(m []float32, gh, gw, h, w int) []float32 {
	if gh <= 0 || gw <= 0 || h <= 0 || w <= 0 || len(m) != gh*gw {
		panic(fmt.Sprintf("imaging: UpsampleBilinear of %d values as %d×%d to %d×%d", len(m), gh, gw, h, w))
	}
	type tap struct {
		i0, i1 int
		l0, l1 float32
	}
	xs := make([]tap, w)
	for x := range xs {
		i0, i1, l0, l1 := linearTap(x, gw, w)
		xs[x] = tap{i0, i1, l0, l1}
	}
	out := make([]float32, h*w)
	for y := range h {
		y0, y1, h0, h1 := linearTap(y, gh, h)
		r0, r1 := m[y0*gw:(y0+1)*gw], m[y1*gw:(y1+1)*gw]
		row := out[y*w : (y+1)*w]
		for x, t := range xs {
			top := float32(float32(r0[t.i0]*t.l0) + float32(r0[t.i1]*t.l1))
			bot := float32(float32(r1[t.i0]*t.l0) + float32(r1[t.i1]*t.l1))
			row[x] = float32(top*h0) + float32(bot*h1)
		}
	}
	return out
}

// gaussianKernel is scipy.ndimage's _gaussian_kernel1d (order 0): radius
// int(truncate·σ + 0.5), weights exp(−x²/(2σ²)) normalised to sum 1, in float64.
func gaussianKernel(sigma, truncate float64) []float64 {
	radius := int(truncate*sigma + 0.5)
	k := make([]float64, 2*radius+1)
	c := -0.5 / (sigma * sigma)
	for i := range k {
		x := float64(i - radius)
		k[i] = math.Exp(c * float64(x*x))
	}
	sum := pairwiseSum(k)
	for i := range k {
		k[i] /= sum
	}
	return k
}

// pairwiseSum adds like numpy's sum of a float64 array (pairwise_sum in
// loops_utils.h): sequential below 8 values, eight interleaved partial sums up to 128,
// halves (rounded down to a multiple of 8) above. The order fixes the last bits.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		var s float64
		for _, v := range a {
			s += v
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range 8 {
				r[j] += a[i+j]
			}
		}
		s := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += a[i]
		}
		return s
	}
	n2 := n / 2
	n2 -= n2 % 8
	return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
}

// reflectIndex maps any integer position onto [0, n) with scipy's "reflect" mode
// (half-sample symmetric: … c b a | a b c … x y z | z y x …), periodic with period 2n,
// so kernels wider than the signal are handled too.
func reflectIndex(i, n int) int {
	p := 2 * n
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - 1 - i
	}
	return i
}

// GaussianBlur smooths a w×h map (row-major) as scipy.ndimage.gaussian_filter(m,
// sigma, mode="reflect", truncate=4.0) does for a float32 array: one 1-D pass per axis,
// rows direction (axis 0) first, each accumulated in float64 and stored as float32.
// It returns a new slice; sigma ≤ 0 returns a copy.
func GaussianBlur(m []float32, w, h int, sigma float64) []float32 {
	if w <= 0 || h <= 0 || len(m) != w*h {
		panic(fmt.Sprintf("imaging: GaussianBlur of %d values as %d×%d", len(m), w, h))
	}
	if !(sigma > 0) {
		return append([]float32(nil), m...)
	}
	k := gaussianKernel(sigma, 4)
	r := len(k) / 2
	tmp := make([]float32, w*h)
	line := make([]float64, max(w, h)+2*r)
	// Axis 0: along each column.
	for x := range w {
		for i := range h + 2*r {
			line[i] = float64(m[reflectIndex(i-r, h)*w+x])
		}
		for y := range h {
			tmp[y*w+x] = float32(correlateSymmetric(line[y:y+2*r+1], k))
		}
	}
	out := make([]float32, w*h)
	// Axis 1: along each row.
	for y := range h {
		row := tmp[y*w : (y+1)*w]
		for i := range w + 2*r {
			line[i] = float64(row[reflectIndex(i-r, w)])
		}
		for x := range w {
			out[y*w+x] = float32(correlateSymmetric(line[x:x+2*r+1], k))
		}
	}
	return out
}

// correlateSymmetric is the weighted sum of a window with a symmetric kernel, summed
// in scipy's order: the centre tap, then pairs from the outermost inwards.
func correlateSymmetric(win, k []float64) float64 {
	r := len(k) / 2
	s := float64(win[r] * k[r])
	for j := range r {
		s += float64(float64(win[j]+win[2*r-j]) * k[j])
	}
	return s
}
