//go:build arm64 && !noasm

package cpu

import (
	"math"
	"testing"
)

// The guard helpers and the micro-kernel guard tests are in asm_guard_test.go.

// TestVectorGuards runs each vector routine on exact multiples of its width (the
// assembly alone) and on odd lengths (assembly plus the Go tail): writes stay in
// the output window and reach all of it.
func TestVectorGuards(t *testing.T) {
	ops := []vectorOp{
		{"geluNEON", func(d []float32, n int) { geluNEON(&d[0], &ramp(n, 0.5)[0], n) }, 8},
		{"geluVec", func(d []float32, n int) { geluVec(d, ramp(n, 0.5)) }, 0},
		{"expShiftSumNEON", func(d []float32, n int) { expShiftSumNEON(&d[0], &ramp(n, 0.5)[0], n, 1) }, 8},
		{"expShiftSumVec", func(d []float32, n int) { expShiftSumVec(d, ramp(n, 0.5), 1) }, 0},
		{"addNEON", func(d []float32, n int) { copy(d, ramp(n, 1)); addNEON(&d[0], &ramp(n, 2)[0], n) }, 8},
		{"mulNEON", func(d []float32, n int) { copy(d, ramp(n, 1)); mulNEON(&d[0], &ramp(n, 2)[0], n) }, 8},
		{"addVec", func(d []float32, n int) { copy(d, ramp(n, 1)); addVec(d, ramp(n, 2)) }, 0},
		{"mulVec", func(d []float32, n int) { copy(d, ramp(n, 1)); mulVec(d, ramp(n, 2)) }, 0},
	}
	checkVectorGuards(t, ops)
}

// TestVectorInputGuards checks the reductions for reads past either end of their
// input: max inside +Inf, expShiftSum inside 50 (exp(50 − 6) would swamp the sum).
func TestVectorInputGuards(t *testing.T) {
	for _, n := range []int{8, 16, 24, 64, 1032} {
		for _, poison := range []float32{float32(math.Inf(1)), 50} {
			buf, x := poisoned(n)
			for i := range buf {
				buf[i] = poison
			}
			copy(x, ramp(n, 0.5))
			if got, want := maxNEON(&x[0], n), maxSlice(x); got != want {
				t.Errorf("maxNEON n %d poison %g = %g, want %g", n, poison, got, want)
			}
			if poison == 50 {
				d := make([]float32, n)
				if s := expShiftSumNEON(&d[0], &x[0], n, 6); !(s < float32(n)) {
					t.Errorf("expShiftSumNEON n %d: sum %g, want < n", n, s)
				}
			}
		}
	}
}

// guardKernels are the NEON micro-kernels called directly (kc = 0 too: the
// assembly must then store zeros, or leave C as it is when accumulating) and
// through the microKernel wrappers.
func guardKernels() []guardKern {
	return []guardKern{
		{"kern8x8", 8, 8, false, true, func(kc int, a []float32, _ int, b, c []float32, ldc int, acc bool) {
			kern8x8(kc, &a[0], &b[0], &c[0], ldc, acc)
		}},
		{"kern8x8r", 8, 8, true, true, func(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
			kern8x8r(kc, &a[0], lda, &b[0], &c[0], ldc, acc)
		}},
		{"neon.fn", 8, 8, false, true, func(kc int, a []float32, _ int, b, c []float32, ldc int, acc bool) {
			neonKernel.fn(kc, a, b, c, ldc, acc)
		}},
		{"neon.fnRowA", 8, 8, true, true, neonKernel.fnRowA},
	}
}
