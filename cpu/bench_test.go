package cpu

import (
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kernelbench"
	"github.com/ideal-fsad/ideal/kernels/kerneltest"
)

// BenchmarkMatMul puts the naive reference, the pure-Go path, the AVX2 path and the
// best path of this build and CPU (AVX-512 where available) side by side at the
// ViT-S/14 448 shapes. On a build or CPU without a path, that entry repeats the
// fallback it gets.
//
//	go test -run XXX -bench MatMul -benchtime 3x ./cpu/
func BenchmarkMatMul(b *testing.B) {
	paths := []struct {
		name string
		be   kernels.Backend
	}{
		{"reference", kernels.NewReference()},
		{"go", New(WithPureGo())},
		{"avx2", New(WithAVX2())},
		{"best", New()},
	}
	for _, c := range kernelbench.Cases(kerneltest.BenchSize) {
		if !strings.HasPrefix(c.Name, "MatMul/") {
			continue
		}
		for _, p := range paths {
			if p.name == "reference" && strings.HasPrefix(c.Name, "MatMul/proj") {
				continue
			}
			b.Run(c.Name+"/"+p.name, func(b *testing.B) { kerneltest.BenchCase(b, p.be, c) })
		}
	}
}

// BenchmarkAll runs the shared suite (every op at ViT-S/14 448 shapes, and one
// transformer block with the implied forward time) on each path: pure Go, AVX2 and
// the best of this CPU. The naive twin is kerneltest's BenchmarkReference.
//
//	go test -run XXX -bench All -benchtime 3x ./cpu/
func BenchmarkAll(b *testing.B) {
	for _, be := range paths() {
		b.Run(be.kern.name, func(b *testing.B) { kerneltest.BenchAll(b, func() kernels.Backend { return be }) })
	}
}

// paths are the distinct code paths of this build and CPU.
func paths() []*Backend {
	var out []*Backend
	seen := map[string]bool{}
	for _, be := range []*Backend{New(WithPureGo()), New(WithAVX2()), New()} {
		if !seen[be.Name()] {
			seen[be.Name()] = true
			out = append(out, be)
		}
	}
	return out
}

// BenchmarkMicroKernel measures each micro-kernel alone on L1-resident panels
// (kc = 256), single-threaded: the ceiling of each path.
func BenchmarkMicroKernel(b *testing.B) {
	for _, be := range paths() {
		k := be.kern
		b.Run(k.name, func(b *testing.B) {
			const kc = 256
			a, bp, c := make([]float32, kc*k.mr), make([]float32, kc*k.nr), make([]float32, k.mr*k.nr)
			for i := range a {
				a[i] = float32(i%7) * 0.1
			}
			for i := range bp {
				bp[i] = float32(i%5) * 0.1
			}
			for b.Loop() {
				k.fn(kc, a, bp, c, k.nr, false)
			}
			b.ReportMetric(2*kc*float64(k.mr*k.nr)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkBlock runs one ViT-S/14 448 transformer block on each path; the
// "s/forward" metric is 12 blocks (the stem and final norm add about 1%).
func BenchmarkBlock(b *testing.B) {
	for _, be := range paths() {
		b.Run(be.kern.name, func(b *testing.B) { kerneltest.BenchBlock(b, be) })
	}
}
