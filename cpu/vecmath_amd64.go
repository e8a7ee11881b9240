//go:build amd64 && !noasm

package cpu

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
