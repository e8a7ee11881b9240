package cpu

import "math"

// pureKernel is the portable path: a 4×4 register-block micro-kernel and scalar
// exp/GELU in plain Go.
var pureKernel = microKernel{name: "go", mr: 4, nr: 4, kcMax: 384, keyBlock: 256, fn: kernel4x4, fnRowA: kernel4x4r, gelu: geluSlice, expShiftSum: expShiftSum, max: maxSlice, add: addSlice, mul: mulSlice, layerNorm: layerNormRow, dot64: dot64, axpy64: axpy64}

func kernel4x4(kc int, a, b, c []float32, ldc int, acc bool) {
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	a, b = a[:kc*4], b[:kc*4]
	// Re-slicing instead of indexing by p keeps the bounds checks out of the loop
	// (twice as fast under js/wasm).
	for len(a) >= 4 && len(b) >= 4 {
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a, b = a[4:], b[4:]
	}
	r0 := (*[4]float32)(c[0:4])
	r1 := (*[4]float32)(c[ldc : ldc+4])
	r2 := (*[4]float32)(c[2*ldc : 2*ldc+4])
	r3 := (*[4]float32)(c[3*ldc : 3*ldc+4])
	if acc {
		c00, c01, c02, c03 = c00+r0[0], c01+r0[1], c02+r0[2], c03+r0[3]
		c10, c11, c12, c13 = c10+r1[0], c11+r1[1], c12+r1[2], c13+r1[3]
		c20, c21, c22, c23 = c20+r2[0], c21+r2[1], c22+r2[2], c23+r2[3]
		c30, c31, c32, c33 = c30+r3[0], c31+r3[1], c32+r3[2], c33+r3[3]
	}
	r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
	r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
	r2[0], r2[1], r2[2], r2[3] = c20, c21, c22, c23
	r3[0], r3[1], r3[2], r3[3] = c30, c31, c32, c33
}

// kernel4x4r is kernel4x4 reading A in place from four rows of stride lda.
func kernel4x4r(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	a0s := a[:kc]
	a1s, a2s, a3s := a[lda:lda+kc], a[2*lda:2*lda+kc], a[3*lda:3*lda+kc]
	b = b[:kc*4]
	for len(a0s) > 0 && len(a1s) > 0 && len(a2s) > 0 && len(a3s) > 0 && len(b) >= 4 {
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		a0, a1, a2, a3 := a0s[0], a1s[0], a2s[0], a3s[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		a0s, a1s, a2s, a3s, b = a0s[1:], a1s[1:], a2s[1:], a3s[1:], b[4:]
	}
	r0 := (*[4]float32)(c[0:4])
	r1 := (*[4]float32)(c[ldc : ldc+4])
	r2 := (*[4]float32)(c[2*ldc : 2*ldc+4])
	r3 := (*[4]float32)(c[3*ldc : 3*ldc+4])
	if acc {
		c00, c01, c02, c03 = c00+r0[0], c01+r0[1], c02+r0[2], c03+r0[3]
		c10, c11, c12, c13 = c10+r1[0], c11+r1[1], c12+r1[2], c13+r1[3]
		c20, c21, c22, c23 = c20+r2[0], c21+r2[1], c22+r2[2], c23+r2[3]
		c30, c31, c32, c33 = c30+r3[0], c31+r3[1], c32+r3[2], c33+r3[3]
	}
	r0[0], r0[1], r0[2], r0[3] = c00, c01, c02, c03
	r1[0], r1[1], r1[2], r1[3] = c10, c11, c12, c13
	r2[0], r2[1], r2[2], r2[3] = c20, c21, c22, c23
	r3[0], r3[1], r3[2], r3[3] = c30, c31, c32, c33
}

// maxSlice is the maximum of x (−Inf for an empty x).
func maxSlice(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

// zeroTile is a micro-kernel's result for kc = 0: a zero tile, or C unchanged when
// accumulating.
func zeroTile(c []float32, ldc, mr, nr int, acc bool) {
	if acc {
		return
	}
	for r := range mr {
		clear(c[r*ldc : r*ldc+nr])
	}
}

// addSlice is dst += x.
func addSlice(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] += v
	}
}

// mulSlice is dst *= x.
func mulSlice(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] *= v
	}
}

// dot64 is Σ a[i]·b[i].
func dot64(a, b []float64) float64 {
	b = b[:len(a)]
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// axpy64 is dst += alpha·x.
func axpy64(dst, x []float64, alpha float64) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] += alpha * v
	}
}
