//go:build cgo && !js

package gpu

import (
	"testing"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kerneltest"
)

// BenchmarkAll runs the shared benchmark suite (every op at the ViT-S/14 448 shapes,
// and one transformer block with the implied forward time) on this backend and, as
// the baseline measured in the same run, on the cpu backend. Under Mesa llvmpipe the
// "GPU" is the same two cores, so only an NVIDIA (or other) driver says anything
// about GPU speed; see scripts/gpu-check.sh.
//
//	scripts/with-xvfb.sh go test -run XXX -bench All -benchtime 3x ./gpu/
func BenchmarkAll(b *testing.B) {
	be, err := New()
	if err != nil {
		b.Skipf("skipping the GPU benchmarks: %v", err)
	}
	be.Close()
	b.Run("gpu", func(b *testing.B) { kerneltest.BenchAll(b, mustNew(nil)) })
	b.Run("cpu", func(b *testing.B) { kerneltest.BenchAll(b, func() kernels.Backend { return cpu.New() }) })
}
