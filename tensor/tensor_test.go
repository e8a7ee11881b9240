package tensor

import (
	"math"
	"testing"
)

func TestNonFinite(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, c := range []struct {
		v    []float32
		want int
	}{
		{nil, -1},
		{[]float32{0, -1, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32}, -1},
		{[]float32{0, nan, inf}, 1},
		{[]float32{1, 2, -inf}, 2},
		{[]float32{inf}, 0},
	} {
		if got := NonFinite(c.v); got != c.want {
			t.Errorf("NonFinite(%v) = %d, want %d", c.v, got, c.want)
		}
	}
}
