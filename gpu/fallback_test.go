//go:build cgo && !js

package gpu

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kerneltest"
)

// both is one logical tensor on the GPU backend (g) and on the reference (r).
type both struct{ g, r kernels.Tensor }

// boundCase is one op call past a kernel bound; run calls it on be with the side of
// each tensor that side picks.
type boundCase struct {
	name string
	outs []both
	run  func(be kernels.Backend, side func(both) kernels.Tensor)
}

// TestBeyondKernelBounds runs every op with a size bound past that bound: it must not
// panic, must take the CPU path (onCPU) once and must match the reference.
func TestBeyondKernelBounds(t *testing.T) {
	b := open(t)
	defer b.Close()
	ref := kernels.NewReference()
	for _, c := range boundCases(t, b, ref) {
		before := b.fallbacks
		c.run(ref, func(p both) kernels.Tensor { return p.r })
		c.run(b, func(p both) kernels.Tensor { return p.g })
		if b.fallbacks != before+1 {
			t.Errorf("%s: %d ops ran on the CPU, want 1", c.name, b.fallbacks-before)
		}
		for i, o := range c.outs {
			got, want := download(t, b, o.g), download(t, ref, o.r)
			if nmse, maxAbs := kerneltest.Compare(got, want); nmse > kerneltest.Tol {
				t.Errorf("%s: output %d: normalised MSE %.3g (max abs %.3g) against the reference", c.name, i, nmse, maxAbs)
			}
		}
	}
}

func boundCases(t *testing.T, b *backend, ref *kernels.Reference) []boundCase {
	rng := rand.New(rand.NewPCG(3, 5))
	up := func(shape ...int) both { // the same random values on both backends
		n := 1
		for _, d := range shape {
			n *= d
		}
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
		return both{b.Upload(d, shape...), ref.Upload(d, shape...)}
	}
	zeros := func(shape ...int) both { return both{b.Zeros(shape...), ref.Zeros(shape...)} }
	var cases []boundCase
	add := func(name string, run func(be kernels.Backend, s func(both) kernels.Tensor), outs ...both) {
		cases = append(cases, boundCase{name, outs, run})
	}
	q, k, v, mask, att := up(5, 272), up(7, 272), up(7, 272), up(7), zeros(5, 272)
	add(fmt.Sprintf("Attention/head width 136 > %d", maxHeadDim), func(be kernels.Backend, s func(both) kernels.Tensor) {
		be.Attention(s(att), s(q), s(k), s(v), s(mask), 2, 0.1)
	}, att)
	img, w, bias, cls, emb := up(3, 66, 132), up(4, 3, 66, 66), up(4), up(4), zeros(3, 4)
	add(fmt.Sprintf("PatchEmbed/patch 66 > %d", maxPatch), func(be kernels.Backend, s func(both) kernels.Tensor) {
		be.PatchEmbed(s(emb), s(img), s(w), s(bias), s(cls), nil, 66)
	}, emb)
	a, bb, vals, idx := up(5, 16), up(300, 16), zeros(5, 257), zeros(5, 257)
	add(fmt.Sprintf("CosineTopK/k 257 > %d", maxTopK), func(be kernels.Backend, s func(both) kernels.Tensor) {
		be.CosineTopK(s(vals), s(idx), s(a), s(bb), 257)
	}, vals, idx)
	nve := func(na, nb, c, k, r int) {
		f, normals, dst := up(na, c), up(nb, c), zeros(na, c)
		vals, idx := zeros(na, k), zeros(na, k)
		ref.CosineTopK(vals.r, idx.r, f.r, normals.r, k) // both backends get these neighbours
		vals.g, idx.g = b.Upload(download(t, ref, vals.r), na, k), b.Upload(download(t, ref, idx.r), na, k)
		add(fmt.Sprintf("NVE/k %d, r %d, C %d", k, r, c), func(be kernels.Backend, s func(both) kernels.Tensor) {
			be.NVE(s(dst), s(f), s(normals), s(vals), s(idx), r, 0.8)
		}, dst)
	}
	nve(5, 80, 48, 64, 4) // k 64 > maxNVEK: a head with topk = 64
	nve(3, 12, 48, 12, 9) // r 9 > maxNVER
	nve(2, 6, 3100, 4, 2) // C 3100 > maxNVEC
	d, ts, proj := up(3, 3900), up(5, 3900), zeros(3)
	add(fmt.Sprintf("Projection/2C + M = 7805 > %d", maxProjectionShared), func(be kernels.Backend, s func(both) kernels.Tensor) {
		be.Projection(s(proj), s(d), s(ts))
	}, proj)
	return cases
}

func download(t *testing.T, be kernels.Backend, x kernels.Tensor) []float32 {
	t.Helper()
	d, err := be.Download(x)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
