//go:build js && wasm

package webgpu

import (
	"flag"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/kernels/kernelbench"
)

var benchSize = flag.Int("webgpu.size", 112, "input side S of the kernel benchmarks' ViT-S/14 shapes")

// BenchmarkKernels times every kernelbench case (the ViT-S/14 shapes at -webgpu.size)
// on the adapter: each run waits for the GPU by reading one output row back. Run it in
// Chromium: go test ./internal/wasmbrowser -run WebGPUBench -args -wasmbrowser.bench=.
func BenchmarkKernels(b *testing.B) {
	be := newBackend(b)
	defer be.Close()
	for _, c := range kernelbench.Cases(*benchSize) {
		b.Run(c.Name, func(b *testing.B) {
			run, cleanup, err := c.Setup(be)
			if err != nil {
				b.Fatal(err)
			}
			defer cleanup()
			if _, err := run(true); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := run(false); err != nil {
					b.Fatal(err)
				}
			}
			if c.FLOP > 0 {
				b.ReportMetric(c.FLOP*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			}
		})
	}
}

// BenchmarkRoundTrip is the fixed cost of one op: Download of a 1-element tensor
// alone, and after one small AddScaled dispatch.
func BenchmarkRoundTrip(b *testing.B) {
	be := newBackend(b)
	defer be.Close()
	x := be.Upload([]float32{1}, 1)
	b.Run("Download", func(b *testing.B) {
		for b.Loop() {
			if _, err := be.Download(x); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AddScaled+Download", func(b *testing.B) {
		for b.Loop() {
			be.AddScaled(x, x, x, 0.5)
			if _, err := be.Download(x); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("10xAddScaled+Download", func(b *testing.B) {
		for b.Loop() {
			for range 10 {
				be.AddScaled(x, x, x, 0.5)
			}
			if _, err := be.Download(x); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMatMulVariants times the tiled and the direct MatMul kernels on the same
// adapter, on the ViT-S/14 Linear layers and one block at -webgpu.size: the measure
// behind matmulKernel's choice.
func BenchmarkMatMulVariants(b *testing.B) {
	be := newBackend(b)
	defer be.Close()
	cpuAdapter := be.cpuAdapter
	defer func() { be.cpuAdapter = cpuAdapter }()
	for _, c := range kernelbench.Cases(*benchSize) {
		if !strings.HasPrefix(c.Name, "MatMul/") && !strings.HasPrefix(c.Name, "Block/") {
			continue
		}
		for _, direct := range []bool{false, true} {
			be.cpuAdapter = direct // the direct kernel runs where matmulKernel sees a CPU adapter
			name := c.Name + "/tiled"
			if direct {
				name = c.Name + "/direct"
			}
			b.Run(name, func(b *testing.B) {
				run, cleanup, err := c.Setup(be)
				if err != nil {
					b.Fatal(err)
				}
				defer cleanup()
				if _, err := run(true); err != nil { // compiles the pipelines
					b.Fatal(err)
				}
				for b.Loop() {
					if _, err := run(false); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
