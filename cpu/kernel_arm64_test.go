//go:build arm64 && !noasm

package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
)

// TestNEONKernelMatchesPureGo checks the NEON micro-kernels against the pure-Go
// kernel4x4 (run on the four 4×4 quadrants of the tile) on random data at awkward
// depths, packed and in place, with and without accumulation.
func TestNEONKernelMatchesPureGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const mr, nr = 8, 8
	for _, kc := range []int{1, 2, 3, 4, 5, 7, 63, 64, 65, 257, 384} {
		lda := kc + 1
		rows := make([]float32, mr*lda) // A row-major, stride lda
		bp := make([]float32, kc*nr)    // B packed
		for i := range rows {
			rows[i] = rng.Float32()*2 - 1
		}
		for i := range bp {
			bp[i] = rng.Float32()*2 - 1
		}
		ap := make([]float32, kc*mr) // A packed
		for p := range kc {
			for i := range mr {
				ap[p*mr+i] = rows[i*lda+p]
			}
		}
		c0 := make([]float32, mr*nr)
		for i := range c0 {
			c0[i] = rng.Float32()*2 - 1
		}
		for _, acc := range []bool{false, true} {
			// The pure-Go tile: quadrant (qi, qj) from 4-row A and 4-column B panels.
			want := append([]float32(nil), c0...)
			for qi := range 2 {
				a4 := make([]float32, kc*4)
				for p := range kc {
					for i := range 4 {
						a4[p*4+i] = rows[(4*qi+i)*lda+p]
					}
				}
				for qj := range 2 {
					b4 := make([]float32, kc*4)
					for p := range kc {
						copy(b4[p*4:p*4+4], bp[p*nr+4*qj:p*nr+4*qj+4])
					}
					kernel4x4(kc, a4, b4, want[4*qi*nr+4*qj:], nr, acc)
				}
			}
			tol := 1e-6 * float64(kc+1) * 4
			for _, rowA := range []bool{false, true} {
				got := append([]float32(nil), c0...)
				if rowA {
					neonKernel.fnRowA(kc, rows, lda, bp, got, nr, acc)
				} else {
					neonKernel.fn(kc, ap, bp, got, nr, acc)
				}
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); !(d <= tol) {
						t.Fatalf("%s: element %d = %g, pure Go %g", fmt.Sprintf("kc%d_acc%v_rowA%v", kc, acc, rowA), i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestNEONPath checks that the default path of this build is the NEON one and that
// its attention key block is a positive multiple of NR.
func TestNEONPath(t *testing.T) {
	if got := New().Name(); got != "cpu/neon" {
		t.Fatalf("New().Name() = %q, want cpu/neon", got)
	}
	if k := neonKernel; k.keyBlock <= 0 || k.keyBlock%k.nr != 0 {
		t.Fatalf("keyBlock %d is not a positive multiple of NR %d", k.keyBlock, k.nr)
	}
}

// TestVectorMath is vecmath_amd64_test.go's check of the vector exp and GELU
// against float64, for the NEON bodies (and their scalar tails).
func TestVectorMath(t *testing.T) {
	xs := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30}
	for x := -100.0; x < 20; x += 0.0137 {
		xs = append(xs, float32(x))
	}
	for _, n := range []int{0, 1, 7, 8, 9, 17, len(xs)} {
		x := xs[len(xs)-n:]
		dst := make([]float32, n)
		geluVec(dst, x)
		for i, v := range x {
			want := kernels.GELUExact(float64(v))
			if e := math.Abs(float64(dst[i]) - want); e > 1e-30 && !(e/math.Abs(want) <= 1e-6+2.5e-7*float64(v)*float64(v)) {
				t.Fatalf("geluVec(%g) = %g, want %g", v, dst[i], want)
			}
		}
		const shift = 3
		sum := expShiftSumVec(dst, x, shift)
		checkExpShiftSum(t, dst, x, shift, sum)
	}
}

// TestVecHelpersExact checks add, mul and max (exact operations) bit for bit
// against the pure-Go loops, NaN and signed zeros included.
func TestVecHelpersExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 16, 17, 63, 64, 65, 1000} {
		x, y := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], y[i] = rng.Float32()*200-100, rng.Float32()*200-100
		}
		if n > 3 {
			x[1], x[2] = 0, float32(math.Copysign(0, -1))
		}
		a, b := append([]float32(nil), x...), append([]float32(nil), x...)
		addVec(a, y)
		addSlice(b, y)
		if !sameBits(a, b) {
			t.Fatalf("addVec n %d differs from addSlice", n)
		}
		mulVec(a, y)
		mulSlice(b, y)
		if !sameBits(a, b) {
			t.Fatalf("mulVec n %d differs from mulSlice", n)
		}
		if got, want := maxVec(x), maxSlice(x); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("maxVec n %d = %g, maxSlice %g", n, got, want)
		}
		for _, at := range []int{0, n / 2, n - 1} {
			if n == 0 {
				break
			}
			z := append([]float32(nil), x...)
			z[at] = float32(math.NaN())
			if got := maxVec(z); got == got {
				t.Fatalf("maxVec n %d with NaN at %d = %g, want NaN", n, at, got)
			}
		}
	}
}
