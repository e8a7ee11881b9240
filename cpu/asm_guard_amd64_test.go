//go:build amd64 && !noasm

package cpu

import (
	"fmt"
	"math"
	"testing"
)

// Guard values (gonum's style): every output of an assembly routine is a window of a
// larger buffer whose other elements hold a sentinel, checked bit for bit afterwards,
// so a write past either end (or into the gap between the rows of a tile) fails. The
// window itself starts as NaN, so an element left unwritten fails too.

const (
	guardLen = 19 // sentinel values on each side (odd: not a vector width)
	sentinel = -7.25e33
)

// guarded returns a buffer of guardLen + n + guardLen sentinels and its middle n
// elements, set to NaN.
func guarded(n int) (buf, out []float32) {
	buf = make([]float32, guardLen+n+guardLen)
	for i := range buf {
		buf[i] = sentinel
	}
	out = buf[guardLen : guardLen+n]
	for i := range out {
		out[i] = float32(math.NaN())
	}
	return buf, out
}

// checkGuards fails unless buf's elements outside out (which must lie in buf; the
// elements where keep is true excepted) still hold the sentinel.
func checkGuards(t *testing.T, name string, buf []float32, keep func(i int) bool) {
	t.Helper()
	for i, v := range buf {
		if keep(i) {
			continue
		}
		if math.Float32bits(v) != math.Float32bits(sentinel) {
			t.Errorf("%s: wrote %g at buffer index %d, a guard value (outside the output or between tile rows; window [%d, %d))", name, v, i, guardLen, len(buf)-guardLen)
			return
		}
	}
}

func window(n int) func(i int) bool {
	return func(i int) bool { return i >= guardLen && i < guardLen+n }
}

func checkWritten(t *testing.T, name string, out []float32) {
	t.Helper()
	for i, v := range out {
		if v != v {
			t.Errorf("%s: output element %d not written", name, i)
			return
		}
	}
}

func ramp(n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = scale * float32(i%23-11)
	}
	return x
}

// TestVectorGuards runs each vector routine on exact multiples of its width
// (the assembly alone) and on odd lengths (assembly plus the Go tail).
func TestVectorGuards(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2+FMA on this CPU")
	}
	type op struct {
		name string
		run  func(dst []float32, n int)
		step int // the assembly's length unit; 0: the Vec wrapper, any length
	}
	ops := []op{
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
			op{"geluAVX512", func(d []float32, n int) { geluAVX512(&d[0], &ramp(n, 0.5)[0], n) }, 16},
			op{"geluVec512", func(d []float32, n int) { geluVec512(d, ramp(n, 0.5)) }, 0},
			op{"expShiftSumAVX512", func(d []float32, n int) { expShiftSumAVX512(&d[0], &ramp(n, 0.5)[0], n, 1) }, 16},
			op{"expShiftSumVec512", func(d []float32, n int) { expShiftSumVec512(d, ramp(n, 0.5), 1) }, 0})
	}
	for _, o := range ops {
		sizes := []int{1, 7, 9, 15, 17, 31, 33, 63, 65, 257}
		if o.step > 0 {
			sizes = []int{o.step, 2 * o.step, 3 * o.step, 8 * o.step, 129 * o.step}
		}
		for _, n := range sizes {
			name := fmt.Sprintf("%s/n%d", o.name, n)
			buf, out := guarded(n)
			o.run(out, n)
			checkWritten(t, name, out)
			checkGuards(t, name, buf, window(n))
		}
	}
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

// TestMicroKernelGuards runs each assembly micro-kernel on a C tile inside a larger
// buffer with a row stride ldc wider than the tile: the gaps between the rows and
// both ends must keep their sentinels, and the tile must hold A·B (+ C with acc).
func TestMicroKernelGuards(t *testing.T) {
	type kern struct {
		name   string
		mr, nr int
		run    func(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool)
	}
	var ks []kern
	if hasAVX2 {
		ks = append(ks,
			kern{"kern6x16", 6, 16, func(kc int, a []float32, _ int, b, c []float32, ldc int, acc bool) {
				kern6x16(kc, &a[0], &b[0], &c[0], ldc, acc)
			}},
			kern{"kern6x16r", 6, 16, func(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
				kern6x16r(kc, &a[0], lda, &b[0], &c[0], ldc, acc)
			}})
	}
	if hasAVX512 {
		ks = append(ks,
			kern{"kern12x32", 12, 32, func(kc int, a []float32, _ int, b, c []float32, ldc int, acc bool) {
				kern12x32(kc, &a[0], &b[0], &c[0], ldc, acc)
			}},
			kern{"kern12x32r", 12, 32, func(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
				kern12x32r(kc, &a[0], lda, &b[0], &c[0], ldc, acc)
			}})
	}
	if len(ks) == 0 {
		t.Skip("no SIMD micro-kernel on this CPU")
	}
	for _, k := range ks {
		rowA := k.name[len(k.name)-1] == 'r'
		for _, kc := range []int{1, 2, 7, 64, 257} {
			for _, acc := range []bool{false, true} {
				name := fmt.Sprintf("%s/kc%d_acc%v", k.name, kc, acc)
				microKernelGuardCase(t, name, k.mr, k.nr, kc, rowA, acc, k.run)
			}
		}
	}
}

// microKernelGuardCase runs one micro-kernel call (see TestMicroKernelGuards). A is
// packed (a[p·mr + i]) or, for rowA, mr rows of stride lda = kc + 3; B is packed
// (b[p·nr + j]); C has stride ldc = nr + 5.
func microKernelGuardCase(t *testing.T, name string, mr, nr, kc int, rowA, acc bool,
	run func(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool)) {
	t.Helper()
	ldc, lda := nr+5, kc+3
	A := func(i, p int) float32 { return float32((i*7+p*3)%11-5) * 0.125 }
	B := func(p, j int) float32 { return float32((p*5+j)%13-6) * 0.25 }
	a := make([]float32, mr*kc)
	if rowA {
		a = make([]float32, (mr-1)*lda+kc)
	}
	b := make([]float32, kc*nr)
	for p := range kc {
		for i := range mr {
			if rowA {
				a[i*lda+p] = A(i, p)
			} else {
				a[p*mr+i] = A(i, p)
			}
		}
		for j := range nr {
			b[p*nr+j] = B(p, j)
		}
	}
	n := (mr-1)*ldc + nr
	buf, c := guarded(n)
	inTile := func(i int) bool { j := i - guardLen; return j >= 0 && j < n && j%ldc < nr }
	for i := range c {
		if inTile(i + guardLen) {
			c[i] = float32(i % 3) // the accumulated values (acc)
		} else {
			c[i] = sentinel
		}
	}
	old := append([]float32(nil), c...)
	run(kc, a, lda, b, c, ldc, acc)
	checkGuards(t, name, buf, inTile)
	for i := range mr {
		for j := range nr {
			var want float64
			if acc {
				want = float64(old[i*ldc+j])
			}
			for p := range kc {
				want += float64(A(i, p)) * float64(B(p, j))
			}
			if got := c[i*ldc+j]; math.Abs(float64(got)-want) > 1e-4*(1+math.Abs(want)) {
				t.Fatalf("%s: C[%d][%d] = %g, want %g", name, i, j, got, want)
			}
		}
	}
}
