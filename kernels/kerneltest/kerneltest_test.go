package kerneltest

import (
	"math"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
)

// The suite run on the reference itself exercises the harness (sentinels, aliasing,
// immutability checks) and must pass exactly; the large cases would add nothing.
func TestReferenceAgainstItself(t *testing.T) {
	RunAll(t, func() kernels.Backend { return kernels.NewReference() }, SmallOnly())
}

func TestCompare(t *testing.T) {
	nan := float32(math.NaN())
	for _, c := range []struct {
		got, want    []float32
		nmse, maxAbs float64
	}{
		{[]float32{1, 2}, []float32{1, 2}, 0, 0},
		{[]float32{1, 3}, []float32{1, 2}, 1.0 / 5, 1},
		{[]float32{nan}, []float32{1}, math.Inf(1), math.Inf(1)},
		{[]float32{1}, []float32{1, 2}, math.Inf(1), math.Inf(1)},
	} {
		n, m := Compare(c.got, c.want)
		if n != c.nmse || m != c.maxAbs {
			t.Errorf("Compare(%v, %v) = %g, %g; want %g, %g", c.got, c.want, n, m, c.nmse, c.maxAbs)
		}
	}
}

// BenchmarkReference is the naive twin of every backend's BenchAll (slow: use
// -benchtime 1x).
func BenchmarkReference(b *testing.B) {
	BenchAll(b, func() kernels.Backend { return kernels.NewReference() })
}
