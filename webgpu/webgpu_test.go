//go:build js && wasm

package webgpu

import (
	"context"
	"errors"
	"flag"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kerneltest"
)

// requireWebGPU makes a missing adapter fail the tests instead of skipping them: the
// browser test (internal/wasmbrowser) passes it, Node (go_js_wasm_exec) does not.
var requireWebGPU = flag.Bool("webgpu.require", false, "fail, not skip, when there is no WebGPU adapter")

// newBackend opens a backend or skips (fails with -webgpu.require) without WebGPU.
func newBackend(t testing.TB) *Backend {
	t.Helper()
	b, err := New(context.Background())
	if err != nil {
		if *requireWebGPU || !errors.Is(err, ErrUnavailable) {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return b
}

// gpuOps are the ops with a WGSL kernel: on the test sizes they must not fall back.
var gpuOps = []string{"MatMul", "LayerNorm", "AddScaled", "CopyRows", "Attention", "PatchEmbed", "Bicubic", "Projection", "CosineTopK", "NVE"}

// The shared parity suite. Ops on the CPU fallback pass trivially; TestOpsOnGPU
// checks that the WGSL ones do run on the GPU, and this test that they never fell
// back during the suite.
func TestParity(t *testing.T) {
	probe := newBackend(t)
	t.Logf("backend %s, limits %+v", probe.Name(), probe.Limits())
	probe.Close()
	var backends []*Backend
	kerneltest.RunAll(t, func() kernels.Backend {
		b := newBackend(t)
		backends = append(backends, b)
		return b
	}, kerneltest.SmallOnly())
	fell := map[string]int{}
	ran := map[string]int{}
	for _, b := range backends {
		for _, f := range b.Fallbacks() {
			fell[f]++
		}
		for op, n := range b.Dispatches() {
			ran[op] += n
		}
	}
	t.Logf("WGSL dispatches per op: %v", ran)
	t.Logf("CPU fallbacks: %v", fell)
	for f := range fell {
		op, _, _ := strings.Cut(f, ":")
		if slices.Contains(gpuOps, op) {
			t.Errorf("%s fell back to the CPU during the suite: %s", op, f)
		}
	}
	for _, op := range gpuOps {
		if ran[op] == 0 {
			t.Errorf("%s made no WGSL dispatch during the suite", op)
		}
	}
}

// The ops with a WGSL kernel run on the GPU (no fallback), including the aliasing
// cases the interface allows, and agree with the reference.
func TestOpsOnGPU(t *testing.T) {
	b := newBackend(t)
	defer func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	ref := kernels.NewReference()
	rng := rand.New(rand.NewPCG(1, 2))
	randn := func(n int) []float32 {
		d := make([]float32, n)
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
		return d
	}
	type pair struct{ g, r kernels.Tensor }
	up := func(d []float32, shape ...int) pair { return pair{b.Upload(d, shape...), ref.Upload(d, shape...)} }
	check := func(name string, p pair) {
		t.Helper()
		got, err := b.Download(p.g)
		if err != nil {
			t.Fatalf("%s: Download: %v", name, err)
		}
		want, _ := ref.Download(p.r)
		nmse, maxAbs := kerneltest.Compare(got, want)
		if nmse > kerneltest.Tol {
			t.Errorf("%s: nmse %.3g max abs %.3g", name, nmse, maxAbs)
		} else {
			t.Logf("%s: nmse %.3g max abs %.3g", name, nmse, maxAbs)
		}
	}
	const m, k, n = 70, 96, 130
	a := up(randn(m*k), m, k)
	bias, gamma := up(randn(n), n), up(randn(n), n)
	cpuAdapter := b.cpuAdapter
	for _, v := range []struct {
		name           string
		transB, direct bool // direct: matmul_direct.wgsl where it applies, as on a CPU adapter
	}{{"tiled", false, false}, {"tiled_transB", true, false}, {"direct_transB", true, true}} {
		b.cpuAdapter = v.direct
		w := up(randn(k*n), k, n)
		if v.transB {
			w = up(randn(k*n), n, k)
		}
		x := up(randn(m*n), m, n) // in-place residual: x ← x + γ ⊙ GELU(a w + bias)
		b.MatMul(x.g, a.g, w.g, v.transB, kernels.Epilogue{Bias: bias.g, GELU: true, Gamma: gamma.g, Residual: x.g})
		ref.MatMul(x.r, a.r, w.r, v.transB, kernels.Epilogue{Bias: bias.r, GELU: true, Gamma: gamma.r, Residual: x.r})
		check("MatMul/inplace_residual_gelu_"+v.name, x)
	}
	b.cpuAdapter = cpuAdapter
	x := up(randn(m*n), m, n)
	lg, lb := up(randn(n), n), up(randn(n), n)
	b.LayerNorm(x.g, x.g, lg.g, lb.g, 1e-6)
	ref.LayerNorm(x.r, x.r, lg.r, lb.r, 1e-6)
	check("LayerNorm/inplace", x)
	y := up(randn(m*n), m, n)
	b.AddScaled(x.g, x.g, y.g, 0.5)
	ref.AddScaled(x.r, x.r, y.r, 0.5)
	check("AddScaled/inplace", x)
	b.CopyRows(y.g, 3, x.g, 10, 20)
	ref.CopyRows(y.r, 3, x.r, 10, 20)
	check("CopyRows", y)
	b.CopyRows(y.g, 0, y.g, 5, 30) // overlapping, same tensor
	ref.CopyRows(y.r, 0, y.r, 5, 30)
	check("CopyRows/self", y)
	// Attention: self-attention (q = k = v) with a mask, 6 heads of 16.
	qkv := up(randn(50*96), 50, 96)
	mv := randn(50)
	mv[7] = -1e9
	mask := up(mv, 50)
	att := up(make([]float32, 50*96), 50, 96)
	b.Attention(att.g, qkv.g, qkv.g, qkv.g, mask.g, 6, 0.25)
	ref.Attention(att.r, qkv.r, qkv.r, qkv.r, mask.r, 6, 0.25)
	check("Attention/self_mask", att)
	// PatchEmbed with cls and pos: 3×28×42 at patch 14, 40 channels.
	img := up(randn(3*28*42), 3, 28, 42)
	pw, pb := up(randn(40*3*14*14), 40, 3, 14, 14), up(randn(40), 40)
	cls, pos := up(randn(40), 40), up(randn(7*40), 7, 40)
	tok := up(make([]float32, 7*40), 7, 40)
	b.PatchEmbed(tok.g, img.g, pw.g, pb.g, cls.g, pos.g, 14)
	ref.PatchEmbed(tok.r, img.r, pw.r, pb.r, cls.r, pos.r, 14)
	check("PatchEmbed/cls_pos", tok)
	// Bicubic: a 5×6 grid of 8-vectors to 9×4.
	grid := up(randn(5*6*8), 30, 8)
	rs := up(make([]float32, 9*4*8), 36, 8)
	b.Bicubic(rs.g, grid.g, 5, 6, 9, 4, 9.0/5, 4.0/6)
	ref.Bicubic(rs.r, grid.r, 5, 6, 9, 4, 9.0/5, 4.0/6)
	check("Bicubic", rs)
	// Projection onto 5 rows.
	dv, tv := up(randn(33*48), 33, 48), up(randn(5*48), 5, 48)
	pr := up(make([]float32, 33), 33)
	b.Projection(pr.g, dv.g, tv.g)
	ref.Projection(pr.r, dv.r, tv.r)
	check("Projection", pr)
	// CosineTopK: 20 rows against 70, k = 5.
	ca, cb := up(randn(20*48), 20, 48), up(randn(70*48), 70, 48)
	vals, idx := up(make([]float32, 20*5), 20, 5), up(make([]float32, 20*5), 20, 5)
	b.CosineTopK(vals.g, idx.g, ca.g, cb.g, 5)
	ref.CosineTopK(vals.r, idx.r, ca.r, cb.r, 5)
	check("CosineTopK/vals", vals)
	check("CosineTopK/idx", idx)
	// NVE at the default head's sizes (C = 384, k = 12, r = 4), on the reference's
	// neighbours of 9 rows among 40.
	nf, nn := up(randn(9*384), 9, 384), up(randn(40*384), 40, 384)
	rv, ri := ref.Zeros(9, 12), ref.Zeros(9, 12)
	ref.CosineTopK(rv, ri, nf.r, nn.r, 12)
	hv, _ := ref.Download(rv)
	hi, _ := ref.Download(ri)
	nv, ni := up(hv, 9, 12), up(hi, 9, 12)
	nd := up(make([]float32, 9*384), 9, 384)
	b.NVE(nd.g, nf.g, nn.g, nv.g, ni.g, 4, 0.8)
	ref.NVE(nd.r, nf.r, nn.r, nv.r, ni.r, 4, 0.8)
	check("NVE/c384_k12_r4", nd)

	if f := b.Fallbacks(); len(f) != 0 {
		t.Errorf("ops fell back to the CPU: %v", f)
	}
	d := b.Dispatches()
	for _, op := range gpuOps {
		if d[op] == 0 {
			t.Errorf("%s made no WGSL dispatch (dispatches %v)", op, d)
		}
	}
	t.Logf("%s: dispatches %v", b.Name(), d)
}

// An op beyond its kernel's limits (NVE with k = maxNVEK + 1) runs on the CPU, agrees
// with the reference and says so.
func TestFallbackRecorded(t *testing.T) {
	b := newBackend(t)
	defer b.Close()
	ref := kernels.NewReference()
	rng := rand.New(rand.NewPCG(3, 4))
	f, nrm := make([]float32, 3*8), make([]float32, 40*8)
	for _, d := range [][]float32{f, nrm} {
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
	}
	const k = maxNVEK + 1
	run := func(be kernels.Backend) []float32 {
		ft, nt := be.Upload(f, 3, 8), be.Upload(nrm, 40, 8)
		vals, idx, dst := be.Zeros(3, k), be.Zeros(3, k), be.Zeros(3, 8)
		be.CosineTopK(vals, idx, ft, nt, k)
		be.NVE(dst, ft, nt, vals, idx, 1, 0.5)
		d, err := be.Download(dst)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	got, want := run(b), run(ref)
	if nmse, _ := kerneltest.Compare(got, want); nmse > kerneltest.Tol {
		t.Errorf("NVE = %v, want %v", got, want)
	}
	if fb := b.Fallbacks(); len(fb) != 1 || !strings.HasPrefix(fb[0], "NVE: ") {
		t.Errorf("Fallbacks() = %q, want one NVE entry", fb)
	}
}

// An error of the device (here a validation error: a write past a buffer's end)
// surfaces from the next Download and from Close.
func TestDeviceErrorSurfaces(t *testing.T) {
	b := newBackend(t)
	x := b.Zeros(4)
	b.write(x.(*tensor).buf, make([]byte, 64)) // the buffer holds 16 bytes
	if _, err := b.Download(x); err == nil || !strings.Contains(err.Error(), "device error") {
		t.Errorf("Download after an invalid write: error %v, want a device error", err)
	} else {
		t.Log(err)
	}
	if err := b.Close(); err == nil {
		t.Error("Close returned no error after a device error")
	}
}
