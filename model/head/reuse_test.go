package head

import (
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/tensor"
)

// countingBackend counts the heavy ops and uploads passed to the backend it wraps.
type countingBackend struct {
	kernels.Backend
	calls map[string]int
}

func (c *countingBackend) Upload(d []float32, shape ...int) kernels.Tensor {
	c.calls["Upload"]++
	return c.Backend.Upload(d, shape...)
}

func (c *countingBackend) MatMul(dst, a, b kernels.Tensor, transB bool, ep kernels.Epilogue) {
	c.calls["MatMul"]++
	c.Backend.MatMul(dst, a, b, transB, ep)
}

func (c *countingBackend) Attention(dst, q, k, v, mask kernels.Tensor, heads int, scale float32) {
	c.calls["Attention"]++
	c.Backend.Attention(dst, q, k, v, mask, heads, scale)
}

func (c *countingBackend) CosineTopK(vals, idx, a, b kernels.Tensor, k int) {
	c.calls["CosineTopK"]++
	c.Backend.CosineTopK(vals, idx, a, b, k)
}

func (c *countingBackend) NVE(dst, f, normals, vals, idx kernels.Tensor, r int, alpha float32) {
	c.calls["NVE"]++
	c.Backend.NVE(dst, f, normals, vals, idx, r, alpha)
}

func (c *countingBackend) Projection(dst, d, tstar kernels.Tensor) {
	c.calls["Projection"]++
	c.Backend.Projection(dst, d, tstar)
}

// TestScoreReusesTheEpisode checks that scoring queries does no reference work: per
// query one upload, one top-k search, one NVE, one projection and nothing of the IDE.
func TestScoreReusesTheEpisode(t *testing.T) {
	f := loadFixture(t)
	be := &countingBackend{Backend: kernels.NewReference(), calls: map[string]int{}}
	m := New(be, f.w)
	defer m.Close()
	mask := make([]bool, 64)
	mask[20], mask[21] = true, true
	ep, err := m.NewEpisode([]*tensor.Dense{f.normal}, []Abnormal{{f.abnormal, mask}})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	clear(be.calls)
	const queries = 5
	for range queries {
		if _, err := ep.Score(f.query); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]int{"Upload": queries, "CosineTopK": queries, "NVE": queries, "Projection": queries}
	for op, n := range want {
		if be.calls[op] != n {
			t.Errorf("%d queries made %d %s calls, want %d", queries, be.calls[op], op, n)
		}
	}
	if be.calls["MatMul"]+be.calls["Attention"] != 0 {
		t.Errorf("scoring recomputed the IDE: %v", be.calls)
	}
}
