package cpu

import (
	"math"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
)

func TestExp32(t *testing.T) {
	worst := 0.0
	for x := -87.0; x < 88.5; x += 0.001 {
		got, want := float64(exp32(float32(x))), math.Exp(float64(float32(x)))
		worst = max(worst, math.Abs(got-want)/want)
	}
	if worst > 3e-7 {
		t.Errorf("exp32: max relative error %.3g > 3e-7", worst)
	}
	if exp32(-200) != 0 || !math.IsInf(float64(exp32(100)), 1) || exp32(float32(math.Inf(-1))) != 0 {
		t.Error("exp32: wrong limits")
	}
	if v := exp32(float32(math.NaN())); v == v {
		t.Error("exp32(NaN) is not NaN")
	}
}

func TestGELU32(t *testing.T) {
	// Relative error everywhere, tails included: erfc's fractional error 1.2e-7 plus
	// the float32 rounding of the exponent argument −x²/2, which grows like x²·2^-24.
	for x := -12.0; x < 12; x += 0.0007 {
		got, want := float64(gelu32(float32(x))), kernels.GELUExact(float64(float32(x)))
		if want == 0 {
			continue
		}
		if e := math.Abs(got-want) / math.Abs(want); e > 1e-6+2.5e-7*x*x {
			t.Fatalf("gelu32(%g) = %g, want %g: relative error %.3g", x, got, want, e)
		}
	}
}

func TestBlockSizes(t *testing.T) {
	for _, c := range []struct{ m, n, mr, nr, threads, mc, nc int }{
		{1025, 1152, 12, 32, 2, 96, 1152}, // 11 row blocks: the whole width per unit
		{1025, 384, 12, 32, 16, 48, 128},  // many threads: smaller blocks, split columns
		{1, 1, 4, 4, 2, 16, 4},
		{64, 1000, 6, 16, 2, 24, 336},
	} {
		mc, nc := blockSizes(c.m, c.n, c.mr, c.nr, c.threads)
		if mc != c.mc || nc != c.nc {
			t.Errorf("blockSizes(%d, %d, %d, %d, %d) = %d, %d; want %d, %d", c.m, c.n, c.mr, c.nr, c.threads, mc, nc, c.mc, c.nc)
		}
	}
}
