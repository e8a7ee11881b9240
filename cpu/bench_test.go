package cpu

import (
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kerneltest"
)

// BenchmarkMatMul puts the naive reference, the pure-Go path and the best path of
// this build (SIMD where available) side by side at the ViT-S/14 448 shapes.
//
//	go test -run XXX -bench MatMul -benchtime 3x ./cpu/
func BenchmarkMatMul(b *testing.B) {
	paths := []struct {
		name string
		be   kernels.Backend
	}{
		{"reference", kernels.NewReference()},
		{"go", New(WithPureGo())},
		{"best", New()},
	}
	for _, s := range kerneltest.ViTMatMuls {
		for _, p := range paths {
			if p.name == "reference" && s.Name == "proj_1025x384x384" {
				continue
			}
			b.Run(s.Name+"/"+p.name, func(b *testing.B) { kerneltest.BenchMatMul(b, p.be, s) })
		}
	}
}

// BenchmarkAll runs the shared suite (every op at ViT-S/14 448 shapes, and one
// transformer block with the implied forward time) on the best path.
func BenchmarkAll(b *testing.B) { kerneltest.BenchAll(b, func() kernels.Backend { return New() }) }

// BenchmarkAllPureGo is BenchmarkAll on the pure-Go micro-kernels.
func BenchmarkAllPureGo(b *testing.B) {
	kerneltest.BenchAll(b, func() kernels.Backend { return New(WithPureGo()) })
}
