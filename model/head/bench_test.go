package head

import (
	"math/rand/v2"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kerneltest"
	"github.com/ideal-fsad/ideal/tensor"
)

// benchEpisode builds the benchmark's setting on be: G = 32 (1024 patches), C = 384,
// one normal and one abnormal reference of random features (a 6×6-patch defect), a
// random query and a freshly initialised head.
func benchEpisode(b *testing.B, be kernels.Backend) (*Model, *tensor.Dense, *tensor.Dense, Abnormal) {
	const g, c = 32, 384
	rng := rand.New(rand.NewPCG(1, 1))
	w, err := Init(c, DefaultVectors, 1)
	if err != nil {
		b.Fatal(err)
	}
	mask := make([]bool, g*g)
	for i := 10; i < 16; i++ {
		for j := 12; j < 18; j++ {
			mask[i*g+j] = true
		}
	}
	return New(be, w), randomFeatures(rng, g*g, c), randomFeatures(rng, g*g, c),
		Abnormal{Features: randomFeatures(rng, g*g, c), Mask: mask}
}

// BenchmarkHeadG32 splits the head's cost at G = 32 into the per-episode work (NVE of
// the abnormal reference + IDE → T*) and the per-query work: the cosine top-k search
// (which yields s_n and the NVE neighbours), the NVE, the projection, and Score as a
// whole (upload, the three, downloads and the map on the host).
//
// backbone-block runs one ViT-S/14 block at 448 on the same backend (kerneltest.BenchBlock,
// reporting the 12-block forward estimate in s/forward), so the head's share of a query's
// time can be read from one run on a noisy machine.
func BenchmarkHeadG32(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.Name(), func(b *testing.B) { benchHead(b, be) })
	}
}

func benchHead(b *testing.B, be kernels.Backend) {
	m, normal, query, abn := benchEpisode(b, be)
	ep, err := m.NewEpisode([]*tensor.Dense{normal}, []Abnormal{abn})
	if err != nil {
		b.Fatal(err)
	}
	n, c := query.Rows(), query.Cols()
	q := be.Upload(query.Data, n, c)
	vals, idx := be.Zeros(n, ep.k), be.Zeros(n, ep.k)
	dev, sa := be.Zeros(n, c), be.Zeros(n)
	be.CosineTopK(vals, idx, q, ep.normals, ep.k)
	be.NVE(dev, q, ep.normals, vals, idx, ep.r, m.cfg.Alpha)
	sync := func(t kernels.Tensor) {
		if _, err := be.Download(t); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("episode", func(b *testing.B) {
		for b.Loop() {
			e, err := m.NewEpisode([]*tensor.Dense{normal}, []Abnormal{abn})
			if err != nil {
				b.Fatal(err)
			}
			sync(e.tstar)
			e.Close()
		}
	})
	b.Run("query-topk", func(b *testing.B) {
		for b.Loop() {
			be.CosineTopK(vals, idx, q, ep.normals, ep.k)
			sync(vals)
		}
	})
	b.Run("query-nve", func(b *testing.B) {
		for b.Loop() {
			be.NVE(dev, q, ep.normals, vals, idx, ep.r, m.cfg.Alpha)
			sync(dev)
		}
	})
	b.Run("query-projection", func(b *testing.B) {
		for b.Loop() {
			be.Projection(sa, dev, ep.tstar)
			sync(sa)
		}
	})
	b.Run("query-score", func(b *testing.B) {
		for b.Loop() {
			if _, err := ep.Score(query); err != nil {
				b.Fatal(err)
			}
		}
	})
	normalOnly, err := New(be, nil).NewEpisode([]*tensor.Dense{normal}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("query-score-normal-only", func(b *testing.B) {
		for b.Loop() {
			if _, err := normalOnly.Score(query); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, t := range []kernels.Tensor{q, vals, idx, dev, sa} {
		be.Free(t)
	}
	normalOnly.Close()
	ep.Close()
	m.Close()
	b.Run("backbone-block", func(b *testing.B) { kerneltest.BenchBlock(b, be) })
}
