//go:build amd64 && !noasm

package cpu

import (
	"testing"
)

// Guard values (gonum's style): every output of an assembly routine is a window of a
// larger buffer whose other elements hold a sentinel, checked bit for bit afterwards,
// so a write past either end (or into the gap between the rows of a tile) fails. The
// window itself starts as NaN, so an element left unwritten fails too.

// The guard helpers and the micro-kernel guard tests are in asm_guard_test.go.

// TestVectorGuards runs each vector routine on exact multiples of its width
// (the assembly alone) and on odd lengths (assembly plus the Go tail).
func TestVectorGuards(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2+FMA on this CPU")
	}
	ops := []vectorOp{
		{"geluAVX2", func(d []float32, n int) { geluAVX2(&d[0], &ramp(n, 0.5)[0], n) }, 8},
		{"geluVec", func(d []float32, n int) { geluVec(d, ramp(n, 0.5)) }, 0},
		{"expShiftSumAVX2", func(d []float32, n int) { expShiftSumAVX2(&d[0], &ramp(n, 0.5)[0], n, 1) }, 8},
		{"expShiftSumVec", func(d []float32, n int) { expShiftSumVec(d, ramp(n, 0.5), 1) }, 0},
		{"addAVX2", func(d []float32, n int) { copy(d, ramp(n, 1)); addAVX2(&d[0], &ramp(n, 2)[0], n) }, 8},
		{"mulAVX2", func(d []float32, n int) { copy(d, ramp(n, 1)); mulAVX2(&d[0], &ramp(n, 2)[0], n) }, 8},
		{"addVec", func(d []float32, n int) { copy(d, ramp(n, 1)); addVec(d, ramp(n, 2)) }, 0},
		{"mulVec", func(d []float32, n int) { copy(d, ramp(n, 1)); mulVec(d, ramp(n, 2)) }, 0},
		{"normAffineAVX2", func(d []float32, n int) {
			normAffineAVX2(&d[0], &ramp(n, 1)[0], &ramp(n, 0.5)[0], &ramp(n, 0.25)[0], n, 0.5, 2)
		}, 8},
		{"layerNormRowVec", func(d []float32, n int) { layerNormRowVec(d, ramp(n, 1), ramp(n, 0.5), ramp(n, 0.25), 1e-6) }, 0},
	}
	if hasAVX512 {
		ops = append(ops,
			vectorOp{"geluAVX512", func(d []float32, n int) { geluAVX512(&d[0], &ramp(n, 0.5)[0], n) }, 16},
			vectorOp{"geluVec512", func(d []float32, n int) { geluVec512(d, ramp(n, 0.5)) }, 0},
			vectorOp{"expShiftSumAVX512", func(d []float32, n int) { expShiftSumAVX512(&d[0], &ramp(n, 0.5)[0], n, 1) }, 16},
			vectorOp{"expShiftSumVec512", func(d []float32, n int) { expShiftSumVec512(d, ramp(n, 0.5), 1) }, 0})
	}
	checkVectorGuards(t, ops)
}

// TestAxpy64Guards is TestVectorGuards for the float64 axpy (the one float64 routine
// that writes): the assembly alone on the multiple-of-4 head, and the wrapper.
func TestAxpy64Guards(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2+FMA on this CPU")
	}
	for _, n := range []int{1, 3, 4, 5, 8, 12, 63, 64, 65, 1028} {
		for _, wrapper := range []bool{false, true} {
			buf := make([]float64, guardLen+n+guardLen)
			for i := range buf {
				buf[i] = sentinel
			}
			dst, x := buf[guardLen:guardLen+n], make([]float64, n)
			for i := range dst {
				dst[i], x[i] = float64(i), float64(n-i)
			}
			done := n // elements the call updates
			if wrapper {
				axpy64Vec(dst, x, 0.5)
			} else if done = n &^ 3; done > 0 {
				axpy64AVX2(&dst[0], &x[0], done, 0.5)
			}
			for i, v := range buf {
				j := i - guardLen
				want := float64(sentinel)
				switch {
				case j >= 0 && j < done:
					want = float64(j) + 0.5*float64(n-j)
				case j >= 0 && j < n:
					want = float64(j)
				}
				if v != want {
					t.Fatalf("axpy64 (wrapper %v) n = %d: buffer index %d (output element %d) = %g, want %g", wrapper, n, i, j, v, want)
				}
			}
		}
	}
}

// guardKernels are the AVX2 and AVX-512 micro-kernels this CPU runs, called directly
// (the assembly expects kc ≥ 1: the wrappers handle 0).
func guardKernels() []guardKern {
	var ks []guardKern
	if hasAVX2 {
		ks = append(ks,
			guardKern{"kern6x16", 6, 16, false, false, func(kc int, a []float32, _ int, b, c []float32, ldc int, acc bool) {
				kern6x16(kc, &a[0], &b[0], &c[0], ldc, acc)
			}},
			guardKern{"kern6x16r", 6, 16, true, false, func(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
				kern6x16r(kc, &a[0], lda, &b[0], &c[0], ldc, acc)
			}})
	}
	if hasAVX512 {
		ks = append(ks,
			guardKern{"kern12x32", 12, 32, false, false, func(kc int, a []float32, _ int, b, c []float32, ldc int, acc bool) {
				kern12x32(kc, &a[0], &b[0], &c[0], ldc, acc)
			}},
			guardKern{"kern12x32r", 12, 32, true, false, func(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
				kern12x32r(kc, &a[0], lda, &b[0], &c[0], ldc, acc)
			}})
	}
	return ks
}
