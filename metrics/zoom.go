package metrics

import "math"

// The down-sampling of the authors' P-PRO: scipy.ndimage.zoom (SciPy 1.10) with its
// defaults grid_mode=False and mode='constant' (cval 0), order 1 for the maps and
// order 0 for the masks, reproduced operation for operation.

// zoomedSize is the side scipy.ndimage.zoom gives an axis of n pixels zoomed by z:
// int(round(n·z)), Python's round (half to even).
func zoomedSize(n int, z float64) int { return int(math.RoundToEven(float64(n) * z)) }

// zoomTap is where output index k of a zoomed axis reads its input: at i0 (and i1
// for order 1) with the spline weights w0, w1; outside when the coordinate lies
// beyond the last input pixel (mode 'constant': the value is cval, 0).
type zoomTap struct {
	i0, i1  int
	w0, w1  float64
	outside bool
}

// zoomTaps computes the taps of an axis of in pixels zoomed to out pixels with a
// spline of the given order (0 or 1). As in NI_ZoomShift: the input coordinate of
// output index k is k·(in−1)/(out−1) (grid_mode=False), factor 1 when out is 1;
// order 1 reads floor(c) and the next pixel (mirrored at the edge, where its weight
// is 0) with the weights w0 = 1 − frac(c) and w1 = 1 − w0; order 0 reads
// floor(c + 0.5).
func zoomTaps(in, out, order int) []zoomTap {
	z := 1.0
	if out > 1 {
		z = float64(in-1) / float64(out-1)
	}
	taps := make([]zoomTap, out)
	for k := range taps {
		c := float64(k) * z
		if c > float64(in-1) {
			taps[k].outside = true
			continue
		}
		if order == 0 {
			taps[k].i0 = int(math.Floor(c + 0.5))
			continue
		}
		start := math.Floor(c)
		w0 := 1.0 - (c - start)
		i0 := int(start)
		taps[k] = zoomTap{i0: i0, i1: mirrorIndex(i0+1, in), w0: w0, w1: 1.0 - w0}
	}
	return taps
}

// mirrorIndex maps an index past the end of an axis of n pixels back into it by the
// 'mirror' extension that SciPy uses for the spline footprint of mode 'constant'.
func mirrorIndex(i, n int) int {
	if n <= 1 {
		return 0
	}
	if i >= n {
		s2 := 2*n - 2
		i -= s2 * (i / s2)
		if i >= n {
			i = s2 - i
		}
	}
	return i
}

// zoomLinear is scipy.ndimage.zoom(order=1) of a w×h float32 map to ow×oh: each
// output is Σ v·wy·wx over the 2×2 footprint, summed in double in row-major
// footprint order and rounded to float32.
func zoomLinear(src []float32, w, h, ow, oh int) []float32 {
	tx, ty := zoomTaps(w, ow, 1), zoomTaps(h, oh, 1)
	out := make([]float32, ow*oh)
	for y, a := range ty {
		if a.outside {
			continue
		}
		r0, r1 := src[a.i0*w:a.i0*w+w], src[a.i1*w:a.i1*w+w]
		for x, b := range tx {
			if b.outside {
				continue
			}
			// coeff = v, then ·1 (the stack axis), ·wy, ·wx; t += coeff in footprint
			// order. The conversions keep each product rounded (no fused multiply-add).
			t := 0.0
			t += float64(float64(r0[b.i0]) * a.w0 * b.w0)
			t += float64(float64(r0[b.i1]) * a.w0 * b.w1)
			t += float64(float64(r1[b.i0]) * a.w1 * b.w0)
			t += float64(float64(r1[b.i1]) * a.w1 * b.w1)
			out[y*ow+x] = float32(t)
		}
	}
	return out
}

// zoomNearest is scipy.ndimage.zoom(order=0) of a w×h mask to ow×oh, read back as
// booleans (the zoomed 0/1 float mask's non-zero pixels).
func zoomNearest(src []bool, w, h, ow, oh int) []bool {
	tx, ty := zoomTaps(w, ow, 0), zoomTaps(h, oh, 0)
	out := make([]bool, ow*oh)
	for y, a := range ty {
		if a.outside {
			continue
		}
		for x, b := range tx {
			if !b.outside {
				out[y*ow+x] = src[a.i0*w+b.i0]
			}
		}
	}
	return out
}
