package kerneltest

import (
	"math/rand/v2"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
)

// ViT-S/14 at 448×448: the shapes of one transformer block.
const (
	Tokens = 1025 // 32×32 patches + CLS
	Width  = 384
	Heads  = 6
	Hidden = 4 * Width
	Depth  = 12
)

// MatMulShape is one matmul of the benchmark set: M×K times K×N (B stored as
// [N,K] and used transposed, the Linear layout) with the given epilogue.
type MatMulShape struct {
	Name                     string
	M, K, N                  int
	Bias, GELU, Gamma, Resid bool
}

// ViTMatMuls are the four matmuls of a ViT-S/14 448 block (qkv, attention output,
// fc1, fc2), with the epilogues the model fuses.
var ViTMatMuls = []MatMulShape{
	{"qkv_1025x384x1152", Tokens, Width, 3 * Width, true, false, false, false},
	{"proj_1025x384x384", Tokens, Width, Width, true, false, true, true},
	{"fc1_1025x384x1536", Tokens, Width, Hidden, true, true, false, false},
	{"fc2_1025x1536x384", Tokens, Hidden, Width, true, false, true, true},
}

// ViTForwardGFLOP is the matmul-and-attention work of one ViT-S/14 448 forward in GFLOP
// (multiply and add counted separately), the denominator of "effective GFLOP/s".
func ViTForwardGFLOP() float64 {
	var f float64
	for _, s := range ViTMatMuls {
		f += 2 * float64(s.M*s.K*s.N)
	}
	f += 4 * float64(Tokens*Tokens*Width) // q·kᵀ and p·v
	f *= Depth
	f += 2 * float64(1024*Width*3*14*14) // patch embedding
	return f / 1e9
}

func randSlice(rng *rand.Rand, n int, scale float32) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(rng.NormFloat64()) * scale
	}
	return d
}

// finish waits for the backend's pending work by downloading one tensor, timed, after
// the b.Loop loop (a GPU backend may queue work asynchronously).
func finish(b *testing.B, be kernels.Backend, t kernels.Tensor) {
	b.StartTimer()
	if _, err := be.Download(t); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
}

func reportGFLOPs(b *testing.B, flop float64) {
	if s := b.Elapsed().Seconds(); s > 0 && b.N > 0 {
		b.ReportMetric(flop*float64(b.N)/s/1e9, "GFLOP/s")
	}
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

// BenchMatMul benchmarks one matmul shape on be and reports GFLOP/s.
func BenchMatMul(b *testing.B, be kernels.Backend, s MatMulShape) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := be.Upload(randSlice(rng, s.M*s.K, 1), s.M, s.K)
	w := be.Upload(randSlice(rng, s.N*s.K, 0.05), s.N, s.K)
	dst := be.Upload(randSlice(rng, s.M*s.N, 1), s.M, s.N)
	var ep kernels.Epilogue
	ep.GELU = s.GELU
	if s.Bias {
		ep.Bias = be.Upload(randSlice(rng, s.N, 1), s.N)
	}
	if s.Gamma {
		ep.Gamma = be.Upload(randSlice(rng, s.N, 0.1), s.N)
	}
	if s.Resid {
		ep.Residual = dst // in place, as the model does
	}
	defer freeAll(be, a, w, dst, ep.Bias, ep.Gamma)
	clk := startCPU()
	for b.Loop() {
		be.MatMul(dst, a, w, true, ep)
	}
	finish(b, be, dst)
	reportGFLOPs(b, 2*float64(s.M*s.K*s.N))
	clk.report(b, 2*float64(s.M*s.K*s.N))
}

func freeAll(be kernels.Backend, ts ...kernels.Tensor) {
	for _, t := range ts {
		if t != nil {
			be.Free(t)
		}
	}
}

// BenchAttention benchmarks multi-head attention with nq queries and nk keys.
func BenchAttention(b *testing.B, be kernels.Backend, nq, nk, c, heads int) {
	rng := rand.New(rand.NewPCG(3, 4))
	q := be.Upload(randSlice(rng, nq*c, 1), nq, c)
	k := be.Upload(randSlice(rng, nk*c, 1), nk, c)
	v := be.Upload(randSlice(rng, nk*c, 1), nk, c)
	dst := be.Zeros(nq, c)
	defer freeAll(be, q, k, v, dst)
	clk := startCPU()
	for b.Loop() {
		be.Attention(dst, q, k, v, nil, heads, 0.125)
	}
	finish(b, be, dst)
	reportGFLOPs(b, 4*float64(nq*nk*c))
	clk.report(b, 4*float64(nq*nk*c))
}

// BenchAll runs the shared benchmarks on the backend newBackend returns (called
// once): every matmul of a ViT-S/14 448 block, attention, the row ops, the patch
// embedding, the head's search ops, and one whole transformer block, which also
// reports the implied full-forward time ("s/forward": 12 blocks, stem excluded).
func BenchAll(b *testing.B, newBackend func() kernels.Backend) {
	be := newBackend()
	defer be.Close()
	for _, s := range ViTMatMuls {
		b.Run("MatMul/"+s.Name, func(b *testing.B) { BenchMatMul(b, be, s) })
	}
	b.Run("Attention/self_1025_c384_h6", func(b *testing.B) { BenchAttention(b, be, Tokens, Tokens, Width, Heads) })
	b.Run("Attention/cross_45x1024_c384_h8", func(b *testing.B) { BenchAttention(b, be, 45, 1024, Width, 8) })
	b.Run("LayerNorm/1025x384", func(b *testing.B) { benchRowOp(b, be, Tokens, Width, "layernorm") })
	b.Run("GELU/1025x1536", func(b *testing.B) { benchRowOp(b, be, Tokens, Hidden, "gelu") })
	b.Run("Softmax/1025x1025", func(b *testing.B) { benchRowOp(b, be, Tokens, Tokens, "softmax") })
	b.Run("PatchEmbed/448", func(b *testing.B) { BenchPatchEmbed(b, be) })
	b.Run("CosineTopK/1024x1024x384_k12", func(b *testing.B) { BenchCosineTopK(b, be, 1024, 1024, Width, 12) })
	b.Run("NVE/1024_nb1024_k12_r4", func(b *testing.B) { BenchNVE(b, be, 1024, 1024, Width, 12, 4) })
	b.Run("Projection/1024x384_m45", func(b *testing.B) { benchProjection(b, be) })
	b.Run("Block/vits14_448", func(b *testing.B) { BenchBlock(b, be) })
}

func benchRowOp(b *testing.B, be kernels.Backend, m, n int, op string) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := be.Upload(randSlice(rng, m*n, 1), m, n)
	dst := be.Zeros(m, n)
	g := be.Upload(randSlice(rng, n, 1), n)
	beta := be.Upload(randSlice(rng, n, 1), n)
	defer freeAll(be, x, dst, g, beta)
	clk := startCPU()
	defer func() { clk.report(b, 0) }()
	for b.Loop() {
		switch op {
		case "layernorm":
			be.LayerNorm(dst, x, g, beta, 1e-6)
		case "gelu":
			be.GELU(dst, x)
		case "softmax":
			be.Softmax(dst, x)
		}
	}
	finish(b, be, dst)
}

// BenchPatchEmbed benchmarks the ViT-S/14 stem at 448×448 with CLS and positions.
func BenchPatchEmbed(b *testing.B, be kernels.Backend) {
	rng := rand.New(rand.NewPCG(7, 8))
	img := be.Upload(randSlice(rng, 3*448*448, 1), 3, 448, 448)
	w := be.Upload(randSlice(rng, Width*3*14*14, 0.05), Width, 3, 14, 14)
	bias := be.Upload(randSlice(rng, Width, 1), Width)
	cls := be.Upload(randSlice(rng, Width, 1), Width)
	pos := be.Upload(randSlice(rng, Tokens*Width, 1), Tokens, Width)
	dst := be.Zeros(Tokens, Width)
	defer freeAll(be, img, w, bias, cls, pos, dst)
	clk := startCPU()
	defer func() { clk.report(b, 2*float64(1024*Width*3*14*14)) }()
	for b.Loop() {
		be.PatchEmbed(dst, img, w, bias, cls, pos, 14)
	}
	finish(b, be, dst)
	reportGFLOPs(b, 2*float64(1024*Width*3*14*14))
}

// BenchCosineTopK benchmarks the normal-score / NVE neighbour search.
func BenchCosineTopK(b *testing.B, be kernels.Backend, na, nb, c, k int) {
	rng := rand.New(rand.NewPCG(9, 10))
	a := be.Upload(randSlice(rng, na*c, 1), na, c)
	bb := be.Upload(randSlice(rng, nb*c, 1), nb, c)
	vals, idx := be.Zeros(na, k), be.Zeros(na, k)
	defer freeAll(be, a, bb, vals, idx)
	clk := startCPU()
	defer func() { clk.report(b, 2*float64(na*nb*c)) }()
	for b.Loop() {
		be.CosineTopK(vals, idx, a, bb, k)
	}
	finish(b, be, idx)
	reportGFLOPs(b, 2*float64(na*nb*c))
}

// BenchNVE benchmarks the Normal Variation Eraser for na rows against nb normals.
func BenchNVE(b *testing.B, be kernels.Backend, na, nb, c, k, r int) {
	rng := rand.New(rand.NewPCG(11, 12))
	f := be.Upload(randSlice(rng, na*c, 1), na, c)
	normals := be.Upload(randSlice(rng, nb*c, 1), nb, c)
	vals, idx := be.Zeros(na, k), be.Zeros(na, k)
	be.CosineTopK(vals, idx, f, normals, k)
	dst := be.Zeros(na, c)
	defer freeAll(be, f, normals, vals, idx, dst)
	clk := startCPU()
	defer func() { clk.report(b, 0) }()
	for b.Loop() {
		be.NVE(dst, f, normals, vals, idx, r, 0.8)
	}
	finish(b, be, dst)
}

func benchProjection(b *testing.B, be kernels.Backend) {
	rng := rand.New(rand.NewPCG(13, 14))
	d := be.Upload(randSlice(rng, 1024*Width, 1), 1024, Width)
	ts := be.Upload(randSlice(rng, 45*Width, 1), 45, Width)
	dst := be.Zeros(1024)
	defer freeAll(be, d, ts, dst)
	clk := startCPU()
	defer func() { clk.report(b, 0) }()
	for b.Loop() {
		be.Projection(dst, d, ts)
	}
	finish(b, be, dst)
}

// BenchBlock runs one pre-norm ViT-S/14 block at 448 (LN, qkv, attention, projection
// with LayerScale and residual, LN, fc1+GELU, fc2 with LayerScale and residual) and
// reports the full-forward estimate Depth × block time in "s/forward" and the
// effective GFLOP/s over ViTForwardGFLOP.
func BenchBlock(b *testing.B, be kernels.Backend) {
	rng := rand.New(rand.NewPCG(15, 16))
	up := func(scale float32, shape ...int) kernels.Tensor {
		n := 1
		for _, d := range shape {
			n *= d
		}
		return be.Upload(randSlice(rng, n, scale), shape...)
	}
	x := up(1, Tokens, Width)
	one := be.Upload(ones(Width), Width)
	zero := be.Zeros(Width)
	wo, bo, g1 := up(0.05, Width, Width), up(0.1, Width), up(0.1, Width)
	w1, b1 := up(0.05, Hidden, Width), up(0.1, Hidden)
	w2, b2, g2 := up(0.02, Width, Hidden), up(0.1, Width), up(0.1, Width)
	h := be.Zeros(Tokens, Width)
	q, k, v := be.Zeros(Tokens, Width), be.Zeros(Tokens, Width), be.Zeros(Tokens, Width)
	att := be.Zeros(Tokens, Width)
	mlp := be.Zeros(Tokens, Hidden)
	defer freeAll(be, x, one, zero, wo, bo, g1, w1, b1, w2, b2, g2, h, q, k, v, att, mlp)
	// Attention takes q, k and v as separate [Tokens, Width] tensors, so the qkv
	// projection is three matmuls here.
	wq, wk, wv := up(0.05, Width, Width), up(0.05, Width, Width), up(0.05, Width, Width)
	defer freeAll(be, wq, wk, wv)
	clk := startCPU()
	for b.Loop() {
		be.LayerNorm(h, x, one, zero, 1e-6)
		be.MatMul(q, h, wq, true, kernels.Epilogue{Bias: bo})
		be.MatMul(k, h, wk, true, kernels.Epilogue{Bias: bo})
		be.MatMul(v, h, wv, true, kernels.Epilogue{Bias: bo})
		be.Attention(att, q, k, v, nil, Heads, 0.125)
		be.MatMul(x, att, wo, true, kernels.Epilogue{Bias: bo, Gamma: g1, Residual: x})
		be.LayerNorm(h, x, one, zero, 1e-6)
		be.MatMul(mlp, h, w1, true, kernels.Epilogue{Bias: b1, GELU: true})
		be.MatMul(x, mlp, w2, true, kernels.Epilogue{Bias: b2, Gamma: g2, Residual: x})
	}
	finish(b, be, x)
	if b.N > 0 {
		perBlock := b.Elapsed().Seconds() / float64(b.N)
		b.ReportMetric(perBlock*Depth, "s/forward")
		b.ReportMetric(ViTForwardGFLOP()/(perBlock*Depth), "GFLOP/s")
	}
	// CPU time per block (cpu-ms/op) and GFLOP per core-second.
	clk.report(b, ViTForwardGFLOP()*1e9/Depth)
}

func ones(n int) []float32 {
	o := make([]float32, n)
	for i := range o {
		o[i] = 1
	}
	return o
}
