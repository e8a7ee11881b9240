package cpu

import (
	"slices"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
)

// Fallback reads each distinct tensor once (an aliased one becomes one CPU tensor, so
// an in-place op sees its own writes), leaves nil arguments nil and writes back only
// the outputs.
func TestFallback(t *testing.T) {
	ref := kernels.NewReference() // stands for the other backend
	x := ref.Upload([]float32{1, 2, 3}, 3)
	y := ref.Upload([]float32{10, 20, 30}, 3)
	reads := 0
	read := func(t kernels.Tensor) []float32 {
		reads++
		d, _ := ref.Download(t)
		return d
	}
	written := map[kernels.Tensor][]float32{}
	write := func(t kernels.Tensor, d []float32) { written[t] = d }
	var gotNil bool
	New(WithThreads(1)).Fallback([]kernels.Tensor{x, x, y, nil}, []int{0}, read, write,
		func(c kernels.Backend, h []kernels.Tensor) {
			gotNil = h[3] == nil
			if h[0] != h[1] {
				t.Error("an aliased argument became two CPU tensors")
			}
			c.AddScaled(h[0], h[1], h[2], 0.5) // x ← x + y/2, in place
		})
	if reads != 2 || !gotNil {
		t.Errorf("%d reads (want 2: x once, y once), nil argument kept nil: %v", reads, gotNil)
	}
	if len(written) != 1 || !slices.Equal(written[x], []float32{6, 12, 18}) {
		t.Errorf("written back %v, want only x = [6 12 18]", written)
	}
}
