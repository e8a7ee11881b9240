//go:build amd64 && !noasm

package cpu

import (
	"math"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
)

func TestVectorMath(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2+FMA on this CPU")
	}
	xs := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30}
	for x := -100.0; x < 20; x += 0.0137 {
		xs = append(xs, float32(x))
	}
	for _, n := range []int{0, 1, 7, 8, 9, 17, len(xs)} {
		x := xs[len(xs)-n:]
		dst, dst2 := make([]float32, n), make([]float32, n)
		geluVec(dst, x)
		for i, v := range x {
			want := kernels.GELUExact(float64(v))
			if e := math.Abs(float64(dst[i]) - want); e > 1e-30 && e/math.Abs(want) > 1e-6+2.5e-7*float64(v)*float64(v) {
				t.Fatalf("geluVec(%g) = %g, want %g", v, dst[i], want)
			}
		}
		if hasAVX512 {
			geluVec512(dst2, x)
			for i := range dst {
				if math.Float32bits(dst2[i]) != math.Float32bits(dst[i]) {
					t.Fatalf("geluVec512(%g) = %g, AVX2 gives %g", x[i], dst2[i], dst[i])
				}
			}
		}
		const shift = 3
		sum := expShiftSumVec(dst, x, shift)
		if hasAVX512 {
			sum512 := expShiftSumVec512(dst2, x, shift)
			for i := range dst {
				if math.Float32bits(dst2[i]) != math.Float32bits(dst[i]) {
					t.Fatalf("expShiftSumVec512: exp(%g) = %g, AVX2 gives %g", x[i]-shift, dst2[i], dst[i])
				}
			}
			if math.Abs(float64(sum512-sum)) > 1e-6*float64(sum) {
				t.Errorf("expShiftSumVec512: sum %g, AVX2 gives %g", sum512, sum)
			}
		}
		checkExpShiftSum(t, dst, x, shift, sum)
	}
}
