package dinov2

import (
	"fmt"
	"math"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
)

// benchForward times the full forward of a ViT-S/14 (C = 384, depth 12, 6 heads,
// trained grid 37, random weights) at side size and reports seconds per image and
// effective GFLOP/s (Config.FLOPs over the wall time), and, where the OS tells, the
// process CPU seconds per image (less disturbed by other load on a shared machine).
func benchForward(b *testing.B, be kernels.Backend, size int) {
	m, err := FromFile(randomHF(3, 384, 12, 37, 14, 0), Options{})
	if err != nil {
		b.Fatal(err)
	}
	px := make([]float32, 3*size*size)
	for i := range px {
		px[i] = float32(math.Sin(float64(i)*0.01)) * 2
	}
	if _, err := m.Features(be, px, size); err != nil { // upload weights, build the workspace
		b.Fatal(err)
	}
	cpu0, haveCPU := processCPUSeconds()
	for b.Loop() {
		if _, err := m.Features(be, px, size); err != nil {
			b.Fatal(err)
		}
	}
	if cpu1, ok := processCPUSeconds(); ok && haveCPU {
		b.ReportMetric((cpu1-cpu0)/float64(b.N), "cpu-s/image")
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec, "s/image")
	b.ReportMetric(m.FLOPs(size)/sec/1e9, "GFLOP/s")
	m.Release(be)
}

// The naive reference takes minutes at 448; it runs at 112 (G = 8) by default, which
// is enough for a GFLOP/s figure to set beside the fast backends.
func BenchmarkViTS14Reference(b *testing.B) {
	for _, size := range []int{112} {
		b.Run(fmt.Sprint(size), func(b *testing.B) { benchForward(b, kernels.NewReference(), size) })
	}
}
