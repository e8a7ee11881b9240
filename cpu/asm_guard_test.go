//go:build !noasm && (amd64 || arm64 || (wasm && goexperiment.simd))

package cpu

import (
	"fmt"
	"math"
	"testing"
)

// Guard values (gonum's style) for the assembly of every architecture: every output
// of an assembly routine is a window of a larger buffer whose other elements hold a
// sentinel, checked bit for bit afterwards, so a write past either end (or into the
// gap between the rows of a tile) fails; the window starts as NaN, so an element
// left unwritten fails too. The inputs sit in buffers whose elements outside the
// data the kernel may read are NaN, so a read past them that reaches the result
// fails, and they must come back unchanged. asm_guard_<arch>_test.go list the
// kernels (guardKernels) and test the vector routines.

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

// checkGuards fails unless buf's elements (those where keep is true excepted) still
// hold the sentinel.
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

// poisoned returns a buffer of guardLen + n + guardLen NaNs and its middle n
// elements (zero): an input whose surroundings spoil any result they reach.
func poisoned(n int) (buf, in []float32) {
	buf = make([]float32, guardLen+n+guardLen)
	for i := range buf {
		buf[i] = float32(math.NaN())
	}
	in = buf[guardLen : guardLen+n]
	clear(in)
	return buf, in
}

// sameBits reports whether a and b hold the same bits (NaNs included).
func sameBits(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
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

// ramp returns n small values followed (beyond its length, within its capacity)
// by guardLen values of 1e34, so that a routine reading past the end of its input
// writes something other than a sentinel (sentinel + 1e34 is not the sentinel).
func ramp(n int, scale float32) []float32 {
	x := make([]float32, n+guardLen)
	for i := range x {
		x[i] = scale * float32(i%23-11)
		if i >= n {
			x[i] = 1e34
		}
	}
	return x[:n]
}

// guardKern is a micro-kernel under test (each architecture's guardKernels lists
// its assembly ones): rowA reads A in place; kc0 handles kc = 0 itself.
type guardKern struct {
	name   string
	mr, nr int
	rowA   bool
	kc0    bool
	run    func(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool)
}

// guardKCs are the K depths tried: every one up to 20 (all remainders of the
// four-step main loop, several trips of it) and the awkward larger ones.
func guardKCs() []int {
	var kcs []int
	for kc := range 21 {
		kcs = append(kcs, kc)
	}
	return append(kcs, 31, 63, 64, 65, 255, 257, 384)
}

// TestMicroKernelGuards runs each micro-kernel on a C tile inside a larger buffer
// with a row stride ldc wider than the tile: the gaps between the rows and both ends
// must keep their sentinels, and the tile must hold A·B (+ C with acc).
func TestMicroKernelGuards(t *testing.T) {
	for _, k := range guardKernels() {
		for _, kc := range guardKCs() {
			if kc == 0 && !k.kc0 {
				continue
			}
			for _, acc := range []bool{false, true} {
				for _, pad := range []int{0, 5} {
					name := fmt.Sprintf("%s/kc%d_acc%v_pad%d", k.name, kc, acc, pad)
					microKernelGuardCase(t, name, k.mr, k.nr, kc, k.rowA, acc, pad, k.run)
				}
			}
		}
	}
}

// microKernelGuardCase runs one micro-kernel call (see TestMicroKernelGuards). A is
// packed (a[p·mr + i]) or, for rowA, mr rows of stride lda = kc + pad; B is packed
// (b[p·nr + j]); C has stride ldc = nr + pad. A and B lie inside NaN poison (also in
// the gaps between A's rows).
func microKernelGuardCase(t *testing.T, name string, mr, nr, kc int, rowA, acc bool, pad int,
	run func(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool)) {
	t.Helper()
	ldc, lda := nr+pad, kc+pad
	A := func(i, p int) float32 { return float32((i*7+p*3)%11-5) * 0.125 }
	B := func(p, j int) float32 { return float32((p*5+j)%13-6) * 0.25 }
	na := max(1, mr*kc)
	if rowA {
		na = max(1, (mr-1)*lda+kc)
	}
	abuf, a := poisoned(na)
	bbuf, b := poisoned(max(1, kc*nr))
	if rowA && lda > 0 {
		for i := range a {
			if i%lda >= kc {
				a[i] = float32(math.NaN()) // the gap between rows
			}
		}
	}
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
	abuf0, bbuf0 := append([]float32(nil), abuf...), append([]float32(nil), bbuf...)
	n := (mr-1)*ldc + nr
	buf, c := guarded(n)
	inTile := func(i int) bool { j := i - guardLen; return j >= 0 && j < n && j%ldc < nr }
	for i := range c {
		if inTile(i + guardLen) {
			if acc {
				c[i] = float32(i % 3) // the accumulated values
			}
		} else {
			c[i] = sentinel
		}
	}
	old := append([]float32(nil), c...)
	run(kc, a, lda, b, c, ldc, acc)
	checkGuards(t, name, buf, inTile)
	if !sameBits(abuf, abuf0) || !sameBits(bbuf, bbuf0) {
		t.Errorf("%s: an input buffer changed", name)
	}
	checkTile(t, name, c, old, ldc, mr, nr, kc, acc, A, B)
}

// TestPartialTileGuards runs the best path's tile and tileRowA (the micro-kernel
// into the scratch tile, then copied) on partial tiles mv×nv: only those elements
// of C may change.
func TestPartialTileGuards(t *testing.T) {
	k := bestKernel()
	for _, kc := range []int{0, 1, 3, 5, 64, 65} {
		for _, mv := range []int{1, k.mr / 2, k.mr - 1, k.mr} {
			for _, nv := range []int{1, k.nr / 2, k.nr/2 + 1, k.nr - 1, k.nr} {
				for _, acc := range []bool{false, true} {
					for _, rowA := range []bool{false, true} {
						if rowA && mv != k.mr {
							continue // tileRowA always has a full MR-row panel
						}
						name := fmt.Sprintf("kc%d_mv%d_nv%d_acc%v_rowA%v", kc, mv, nv, acc, rowA)
						partialTileCase(t, name, k, kc, mv, nv, acc, rowA)
					}
				}
			}
		}
	}
}

func partialTileCase(t *testing.T, name string, k *microKernel, kc, mv, nv int, acc, rowA bool) {
	t.Helper()
	mr, nr := k.mr, k.nr
	ldc, lda := nv+3, kc+2
	A := func(i, p int) float32 { return float32((i*5+p*3)%11-5) * 0.125 }
	B := func(p, j int) float32 { return float32((p*7+j)%13-6) * 0.25 }
	// A packed with zero rows past mv (as packA does), or mr rows in place.
	a := make([]float32, max(1, mr*kc))
	if rowA {
		a = make([]float32, max(1, (mr-1)*lda+kc))
	}
	b := make([]float32, max(1, kc*nr)) // zero columns past nv
	for p := range kc {
		for i := range mv {
			if rowA {
				a[i*lda+p] = A(i, p)
			} else {
				a[p*mr+i] = A(i, p)
			}
		}
		for j := range nv {
			b[p*nr+j] = B(p, j)
		}
	}
	n := (mv-1)*ldc + nv
	buf, c := guarded(n)
	inTile := func(i int) bool { j := i - guardLen; return j >= 0 && j < n && j%ldc < nv }
	for i := range c {
		if !inTile(i + guardLen) {
			c[i] = sentinel
		} else if acc {
			c[i] = float32(i%5) - 2
		}
	}
	old := append([]float32(nil), c...)
	tmp := make([]float32, mr*nr)
	if rowA {
		k.tileRowA(kc, a, lda, b, c, ldc, nv, acc, tmp)
	} else {
		k.tile(kc, a, b, c, ldc, mv, nv, acc, tmp)
	}
	checkGuards(t, name, buf, inTile)
	checkTile(t, name, c, old, ldc, mv, nv, kc, acc, A, B)
}

// checkTile fails unless the mv×nv tile of c (row stride ldc) holds A·B over kc, plus
// its old values when acc.
func checkTile(t *testing.T, name string, c, old []float32, ldc, mv, nv, kc int, acc bool, A, B func(int, int) float32) {
	t.Helper()
	for i := range mv {
		for j := range nv {
			var want float64
			if acc {
				want = float64(old[i*ldc+j])
			}
			for p := range kc {
				want += float64(A(i, p)) * float64(B(p, j))
			}
			if got := c[i*ldc+j]; !(math.Abs(float64(got)-want) <= 1e-4*(1+math.Abs(want))) {
				t.Fatalf("%s: C[%d][%d] = %g, want %g", name, i, j, got, want)
			}
		}
	}
}

// vectorOp is a vector routine under guard: run writes n outputs into dst; step is the
// assembly's length unit (0: a Vec wrapper, any length).
type vectorOp struct {
	name string
	run  func(dst []float32, n int)
	step int
}

// checkVectorGuards runs each op on exact multiples of its step (the assembly alone)
// or, for a wrapper, on odd lengths (assembly plus the Go tail): writes stay in the
// output window and reach all of it.
func checkVectorGuards(t *testing.T, ops []vectorOp) {
	t.Helper()
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

// checkExpShiftSum checks expShiftSumVec's outputs dst = exp(x − shift) (to 3e-7
// relative, 0 below float32's range) and their sum (to 1e-5) against float64.
func checkExpShiftSum(t *testing.T, dst, x []float32, shift, sum float32) {
	t.Helper()
	var want float64
	for i, v := range x {
		arg := float64(v - shift) // the float32 difference is the input
		w := math.Exp(arg)
		if arg < -87.3 {
			w = 0
		}
		want += w
		if !(math.Abs(float64(dst[i])-w) <= 3e-7*w) {
			t.Fatalf("expShiftSumVec: exp(%g) = %g, want %g", arg, dst[i], w)
		}
	}
	if !(math.Abs(float64(sum)-want) <= 1e-5*want) {
		t.Errorf("expShiftSumVec: sum %g, want %g", sum, want)
	}
}
