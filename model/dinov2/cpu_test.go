package dinov2

import (
	"testing"

	"github.com/ideal-fsad/ideal/cpu"
)

func TestFixtureCPU(t *testing.T) { testFixture(t, cpu.New()) }

// ViT-S/14 at 448×448 (1024 patches) on the fast CPU backend; compare its GFLOP/s
// with BenchmarkViTS14Reference run in the same invocation.
func BenchmarkViTS14CPU(b *testing.B) {
	b.Run("448", func(b *testing.B) { benchForward(b, cpu.New(), 448) })
}
