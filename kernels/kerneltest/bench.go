package kerneltest

import (
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kernelbench"
)

// BenchSize is the input side of the shared benchmarks: DINOv2 ViT-S/14 at 448×448.
const BenchSize = 448

// BenchAll runs the shared benchmark cases (kernelbench.Cases at BenchSize, the set
// `ideal bench` times) on the backend newBackend returns (called once): every matmul
// of a ViT-S/14 448 block, attention, layer norm, the patch embedding, the head's
// search ops, and one whole transformer block, which also reports the implied
// full-forward time ("s/forward": 12 blocks, stem excluded).
func BenchAll(b *testing.B, newBackend func() kernels.Backend) {
	be := newBackend()
	defer be.Close()
	for _, c := range kernelbench.Cases(BenchSize) {
		b.Run(c.Name, func(b *testing.B) { BenchCase(b, be, c) })
	}
}

// BenchBlock runs the one-block case alone (kernelbench.Block at BenchSize).
func BenchBlock(b *testing.B, be kernels.Backend) { BenchCase(b, be, kernelbench.Block(BenchSize)) }

// BenchCase benchmarks one case on be: each iteration is one run that waits for the
// backend (a one-row read-back). It reports GFLOP/s for a case with a FLOP count,
// s/forward for a block, and the CPU-time metrics (cpuClock).
func BenchCase(b *testing.B, be kernels.Backend, c kernelbench.Case) {
	run, cleanup, err := c.Setup(be)
	if err != nil {
		b.Fatal(err)
	}
	defer cleanup()
	clk := startCPU()
	for b.Loop() {
		if _, err := run(false); err != nil {
			b.Fatal(err)
		}
	}
	if s := b.Elapsed().Seconds(); s > 0 && b.N > 0 {
		per := s / float64(b.N)
		if c.FLOP > 0 {
			b.ReportMetric(c.FLOP/per/1e9, "GFLOP/s")
		}
		if c.PerForward > 0 {
			b.ReportMetric(per*float64(c.PerForward), "s/forward")
		}
	}
	clk.report(b, c.FLOP)
}

// cpuClock measures the process's CPU time (user + system) over a benchmark, which
// on a machine shared with other jobs is steadier than wall time; start it right
// before the b.Loop loop and call report after it. Where the platform has no
// process CPU clock nothing is reported.
type cpuClock struct{ start float64 }

func startCPU() cpuClock { return cpuClock{processCPUSeconds()} }

// report adds "cpu-ms/op" and, for flop > 0, "GFLOP/cpu-s" (throughput per core
// second: multiply by the thread count for the uncontended machine estimate).
func (c cpuClock) report(b *testing.B, flop float64) {
	end := processCPUSeconds()
	if c.start < 0 || end < 0 || b.N == 0 {
		return
	}
	per := (end - c.start) / float64(b.N)
	b.ReportMetric(per*1e3, "cpu-ms/op")
	if flop > 0 && per > 0 {
		b.ReportMetric(flop/per/1e9, "GFLOP/cpu-s")
	}
}
