//go:build amd64 && !noasm

package cpu

import "math"

// Vector exp and GELU (vecmath_amd64.s) over multiples of 8 elements.
//
//go:noescape
func expShiftSumAVX2(dst, x *float32, n int, shift float32) float32

//go:noescape
func geluAVX2(dst, x *float32, n int)

// expShiftSumVec is expShiftSum with the AVX2 body and a scalar tail.
func expShiftSumVec(dst, x []float32, shift float32) float32 {
	x = x[:len(dst)]
	n := len(x) &^ 7
	var s float32
	if n > 0 {
		s = expShiftSumAVX2(&dst[0], &x[0], n, shift)
	}
	return s + expShiftSum(dst[n:], x[n:], shift)
}

// geluVec is geluSlice with the AVX2 body and a scalar tail.
func geluVec(dst, x []float32) {
	x = x[:len(dst)]
	n := len(x) &^ 7
	if n > 0 {
		geluAVX2(&dst[0], &x[0], n)
	}
	geluSlice(dst[n:], x[n:])
}

//go:noescape
func addAVX2(dst, x *float32, n int)

//go:noescape
func mulAVX2(dst, x *float32, n int)

// addVec is addSlice with the AVX2 body.
func addVec(dst, x []float32) {
	x = x[:len(dst)]
	n := len(dst) &^ 7
	if n > 0 {
		addAVX2(&dst[0], &x[0], n)
	}
	addSlice(dst[n:], x[n:])
}

// mulVec is mulSlice with the AVX2 body.
func mulVec(dst, x []float32) {
	x = x[:len(dst)]
	n := len(dst) &^ 7
	if n > 0 {
		mulAVX2(&dst[0], &x[0], n)
	}
	mulSlice(dst[n:], x[n:])
}

//go:noescape
func sumAVX2(x *float32, n int) float32

//go:noescape
func sumSqDevAVX2(x *float32, n int, mean float32) float32

//go:noescape
func normAffineAVX2(dst, x, gamma, beta *float32, n int, mean, inv float32)

// layerNormRowVec is layerNormRow with AVX2 bodies.
func layerNormRowVec(dst, x, g, b []float32, eps float32) {
	c := len(x)
	n := c &^ 7
	if n == 0 {
		layerNormRow(dst, x, g, b, eps)
		return
	}
	dst, g, b = dst[:c], g[:c], b[:c]
	s := float64(sumAVX2(&x[0], n))
	for _, v := range x[n:] {
		s += float64(v)
	}
	mean := float32(s / float64(c))
	v2 := float64(sumSqDevAVX2(&x[0], n, mean))
	for _, v := range x[n:] {
		d := v - mean
		v2 += float64(d * d)
	}
	inv := float32(1 / math.Sqrt(v2/float64(c)+float64(eps)))
	normAffineAVX2(&dst[0], &x[0], &g[0], &b[0], n, mean, inv)
	for j := n; j < c; j++ {
		dst[j] = (x[j]-mean)*inv*g[j] + b[j]
	}
}

//go:noescape
func expShiftSumAVX512(dst, x *float32, n int, shift float32) float32

// expShiftSumVec512 is expShiftSum with the AVX-512 body and the AVX2 one for the
// rest.
func expShiftSumVec512(dst, x []float32, shift float32) float32 {
	x = x[:len(dst)]
	n := len(x) &^ 15
	var s float32
	if n > 0 {
		s = expShiftSumAVX512(&dst[0], &x[0], n, shift)
	}
	return s + expShiftSumVec(dst[n:], x[n:], shift)
}

//go:noescape
func dot64AVX2(a, b *float64, n int) float64

//go:noescape
func axpy64AVX2(dst, x *float64, n int, alpha float64)

// dot64Vec is dot64 with the AVX2 body.
func dot64Vec(a, b []float64) float64 {
	b = b[:len(a)]
	n := len(a) &^ 7
	if n == 0 {
		return dot64(a, b)
	}
	return dot64AVX2(&a[0], &b[0], n) + dot64(a[n:], b[n:])
}

// axpy64Vec is axpy64 with the AVX2 body.
func axpy64Vec(dst, x []float64, alpha float64) {
	x = x[:len(dst)]
	n := len(dst) &^ 3
	if n > 0 {
		axpy64AVX2(&dst[0], &x[0], n, alpha)
	}
	axpy64(dst[n:], x[n:], alpha)
}

//go:noescape
func geluAVX512(dst, x *float32, n int)

// geluVec512 is geluSlice with the AVX-512 body and the AVX2 one for the rest.
func geluVec512(dst, x []float32) {
	x = x[:len(dst)]
	n := len(x) &^ 15
	if n > 0 {
		geluAVX512(&dst[0], &x[0], n)
	}
	geluVec(dst[n:], x[n:])
}
