//go:build arm64 && !noasm

package cpu

// kern8x8 is the NEON micro-kernel (kernel_arm64.s): C[8×8] (+)= A·B for a packed
// A panel (kc×8) and a packed B panel (kc×8), sixteen 4-lane accumulators.
//
//go:noescape
func kern8x8(kc int, a, b, c *float32, ldc int, acc bool)

// kern8x8r is kern8x8 reading A in place from eight rows of stride lda.
//
//go:noescape
func kern8x8r(kc int, a *float32, lda int, b, c *float32, ldc int, acc bool)

// Vector exp, GELU, add, mul and max (kernel_arm64.s) over multiples of 8 elements.
//
//go:noescape
func expShiftSumNEON(dst, x *float32, n int, shift float32) float32

//go:noescape
func geluNEON(dst, x *float32, n int)

//go:noescape
func addNEON(dst, x *float32, n int)

//go:noescape
func mulNEON(dst, x *float32, n int)

//go:noescape
func maxNEON(x *float32, n int) float32

// expShiftSumVec is expShiftSum with the NEON body and a scalar tail.
func expShiftSumVec(dst, x []float32, shift float32) float32 {
	x = x[:len(dst)]
	n := len(x) &^ 7
	var s float32
	if n > 0 {
		s = expShiftSumNEON(&dst[0], &x[0], n, shift)
	}
	return s + expShiftSum(dst[n:], x[n:], shift)
}

// geluVec is geluSlice with the NEON body and a scalar tail.
func geluVec(dst, x []float32) {
	x = x[:len(dst)]
	n := len(x) &^ 7
	if n > 0 {
		geluNEON(&dst[0], &x[0], n)
	}
	geluSlice(dst[n:], x[n:])
}

// addVec is addSlice with the NEON body.
func addVec(dst, x []float32) {
	x = x[:len(dst)]
	n := len(dst) &^ 7
	if n > 0 {
		addNEON(&dst[0], &x[0], n)
	}
	addSlice(dst[n:], x[n:])
}

// mulVec is mulSlice with the NEON body.
func mulVec(dst, x []float32) {
	x = x[:len(dst)]
	n := len(dst) &^ 7
	if n > 0 {
		mulNEON(&dst[0], &x[0], n)
	}
	mulSlice(dst[n:], x[n:])
}

// maxVec is maxSlice with the NEON body.
func maxVec(x []float32) float32 {
	n := len(x) &^ 7
	if n == 0 {
		return maxSlice(x)
	}
	return max(maxNEON(&x[0], n), maxSlice(x[n:]))
}

// neonKernel is the arm64 path: 8×8 register blocks (NR = 8 divides keyBlock; 16
// accumulators, 8 A and 8 B registers fill the 32 vector registers with four k
// steps in flight; 8 rows also let the in-place A kernel load four k values of
// every row as one vector). A kcMax×8 B panel (12 KiB) and the eight in-place A rows
// (12 KiB) share L1. Exp, GELU, add, mul and max have NEON bodies; layerNorm and
// the float64 dot64/axpy64 are the pure-Go ones.
var neonKernel = microKernel{name: "neon", mr: 8, nr: 8, kcMax: 384, keyBlock: 256,
	gelu: geluVec, expShiftSum: expShiftSumVec, max: maxVec, add: addVec, mul: mulVec,
	layerNorm: layerNormRow, dot64: dot64, axpy64: axpy64,
	fn: func(kc int, a, b, c []float32, ldc int, acc bool) {
		// Bounds the assembly relies on.
		_ = c[7*ldc+7]
		if kc == 0 {
			zeroTile(c, ldc, 8, 8, acc)
			return
		}
		_, _ = a[kc*8-1], b[kc*8-1]
		kern8x8(kc, &a[0], &b[0], &c[0], ldc, acc)
	},
	fnRowA: func(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
		_ = c[7*ldc+7]
		if kc == 0 {
			zeroTile(c, ldc, 8, 8, acc)
			return
		}
		_, _ = a[7*lda+kc-1], b[kc*8-1]
		kern8x8r(kc, &a[0], lda, &b[0], &c[0], ldc, acc)
	},
}

// bestKernel returns the NEON micro-kernel (Advanced SIMD is mandatory on arm64).
func bestKernel() *microKernel { return &neonKernel }

// WithAVX2 has no effect on arm64 (there is no AVX2; the default is NEON).
func WithAVX2() Option { return func(*Backend) {} }
