package serve

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
)

// exclusive is a backend that counts calls made while another is in progress: a
// backend shared by several detectors must see none.
type exclusive struct {
	kernels.Backend
	busy, overlaps atomic.Int32
}

func (e *exclusive) enter() func() {
	if e.busy.Add(1) > 1 {
		e.overlaps.Add(1)
	}
	return func() { e.busy.Add(-1) }
}

func (e *exclusive) Upload(d []float32, shape ...int) kernels.Tensor {
	defer e.enter()()
	return e.Backend.Upload(d, shape...)
}

func (e *exclusive) Download(t kernels.Tensor) ([]float32, error) {
	defer e.enter()()
	return e.Backend.Download(t)
}

func (e *exclusive) MatMul(dst, a, b kernels.Tensor, transB bool, ep kernels.Epilogue) {
	defer e.enter()()
	e.Backend.MatMul(dst, a, b, transB, ep)
}

func (e *exclusive) Attention(dst, q, k, v, mask kernels.Tensor, heads int, scale float32) {
	defer e.enter()()
	e.Backend.Attention(dst, q, k, v, mask, heads, scale)
}

func (e *exclusive) LayerNorm(dst, x, gamma, beta kernels.Tensor, eps float32) {
	defer e.enter()()
	e.Backend.LayerNorm(dst, x, gamma, beta, eps)
}

func (e *exclusive) CosineTopK(vals, idx, a, b kernels.Tensor, k int) {
	defer e.enter()()
	e.Backend.CosineTopK(vals, idx, a, b, k)
}

// TestServeSharedBackendSerialised scores two profiles of different detectors (input
// sizes 112 and 56) at once on one shared backend: no two backend calls overlap.
func TestServeSharedBackendSerialised(t *testing.T) {
	f := getFixture(t)
	be := &exclusive{Backend: kernels.NewReference()}
	_, base := start(t, Config{Backend: be, MaxParallel: 4, Queue: 16})
	putProfile(t, base, "a", specJSON)
	putProfile(t, base, "b", `{"backbone":"backbone.safetensors","head":"head.safetensors","size":56,"threshold":0.5}`)
	var wg sync.WaitGroup
	for i := range 4 {
		name := []string{"a", "b"}[i%2]
		wg.Go(func() {
			for range 2 {
				infer(t, base, name, f.query)
			}
		})
	}
	wg.Wait()
	if n := be.overlaps.Load(); n != 0 {
		t.Fatalf("%d backend calls overlapped another", n)
	}
}
