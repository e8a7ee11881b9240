package kernelbench

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ideal-fsad/ideal/kernels"
)

// DINOv2 ViT-S/14 dimensions, and the IDEAL head's at its defaults (head.DefaultTopK,
// DefaultTopR, DefaultVectors, DefaultHeads; model/modelbench checks they agree).
const (
	Width  = 384
	Heads  = 6
	Hidden = 4 * Width
	Depth  = 12
	Patch  = 14

	HeadTopK    = 12
	HeadTopR    = 4
	HeadVectors = 45
	HeadHeads   = 8
)

// Run does a case's work once and waits for the backend. With full set it returns
// the case's output as host data (compared across backends); otherwise it waits by
// reading back one row copied from the output, so that the timing is not dominated by
// a large read-back, and returns nil.
type Run func(full bool) ([]float32, error)

// Case is one kernel or stage. Setup uploads its inputs to a backend and returns the
// Run and a cleanup that frees them. FLOP is the nominal work of one run (multiply and
// add counted separately); PerForward, when not 0, is how many runs make one backbone
// forward (a block: Depth), for a seconds-per-forward estimate.
type Case struct {
	Name       string
	FLOP       float64
	PerForward int
	Setup      func(be kernels.Backend) (run Run, cleanup func(), err error)
}

// Grid returns the patch grid side S/14 of an S×S input; S must be a positive multiple
// of the patch size.
func Grid(size int) int {
	if size < Patch || size%Patch != 0 {
		panic(fmt.Sprintf("kernelbench: size %d is not a positive multiple of %d", size, Patch))
	}
	return size / Patch
}

// BlockFLOP is the matmul and attention work of one ViT-S/14 block over t tokens.
func BlockFLOP(t int) float64 {
	return 2*float64(t*Width)*(3*Width+Width+2*Hidden) + 4*float64(t*t*Width)
}

// Cases returns the kernel cases at the ViT-S/14 shapes for an S×S input: T = (S/14)²+1
// tokens, N = (S/14)² patches. The names carry the shapes (at S = 448:
// "MatMul/qkv_1025x384x1152", …, "Block/vits14_448").
func Cases(size int) []Case {
	g := Grid(size)
	n := g * g
	t := n + 1
	k := min(HeadTopK, n)
	mm := func(name string, m, kk, nn int, gelu, scaleRes bool, seed uint64) Case {
		return matMulCase(fmt.Sprintf("MatMul/%s_%dx%dx%d", name, m, kk, nn), m, kk, nn, gelu, scaleRes, seed)
	}
	return []Case{
		mm("qkv", t, Width, 3*Width, false, false, 10),
		mm("proj", t, Width, Width, false, true, 11),
		mm("fc1", t, Width, Hidden, true, false, 12),
		mm("fc2", t, Hidden, Width, false, true, 13),
		attentionCase(fmt.Sprintf("Attention/self_%d_c%d_h%d", t, Width, Heads), t, t, Heads, true, 14),
		attentionCase(fmt.Sprintf("Attention/cross_%dx%d_c%d_h%d", HeadVectors, n, Width, HeadHeads), HeadVectors, n, HeadHeads, false, 15),
		layerNormCase(fmt.Sprintf("LayerNorm/%dx%d", t, Width), t, 16),
		patchEmbedCase(fmt.Sprintf("PatchEmbed/%d", size), size, 17),
		cosineTopKCase(fmt.Sprintf("CosineTopK/%dx%dx%d_k%d", n, n, Width, k), n, k, 18),
		nveCase(fmt.Sprintf("NVE/%d_nb%d_k%d_r%d", n, n, k, HeadTopR), n, k, min(HeadTopR, k), 19),
		projectionCase(fmt.Sprintf("Projection/%dx%d_m%d", n, Width, HeadVectors), n, 20),
		blockCase(fmt.Sprintf("Block/vits14_%d", size), t, 21),
	}
}

// Block returns the one-transformer-block case of Cases(size).
func Block(size int) Case {
	g := Grid(size)
	return blockCase(fmt.Sprintf("Block/vits14_%d", size), g*g+1, 21)
}

// RandSlice returns n normal values times std.
func RandSlice(rng *rand.Rand, n int, std float64) []float32 {
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(std * rng.NormFloat64())
	}
	return d
}

// uploads keeps the tensors a case allocates on one backend, to free them together.
type uploads struct {
	be  kernels.Backend
	rng *rand.Rand
	ts  []kernels.Tensor
}

func (u *uploads) add(t kernels.Tensor) kernels.Tensor { u.ts = append(u.ts, t); return t }

// rand uploads normal values times std.
func (u *uploads) rand(std float64, shape ...int) kernels.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return u.add(u.be.Upload(RandSlice(u.rng, n, std), shape...))
}

func (u *uploads) zeros(shape ...int) kernels.Tensor { return u.add(u.be.Zeros(shape...)) }

func (u *uploads) free() {
	for _, t := range u.ts {
		u.be.Free(t)
	}
}

// kernel builds a case from an op on inputs uploaded by op, with output out.
func kernel(name string, flop float64, seed uint64, op func(u *uploads) (do func(), out kernels.Tensor)) Case {
	return Case{Name: name, FLOP: flop, Setup: func(be kernels.Backend) (Run, func(), error) {
		u := &uploads{be: be, rng: rand.New(rand.NewPCG(seed, 0xbe9c))}
		do, out := op(u)
		return probed(be, do, out, u.zeros(1, kernels.Cols(out))), u.free, nil
	}}
}

// probed is the Run of an op writing out: the whole output when full, else a wait on
// its last row copied into probe.
func probed(be kernels.Backend, do func(), out, probe kernels.Tensor) Run {
	return func(full bool) ([]float32, error) {
		do()
		if full {
			return be.Download(out)
		}
		be.CopyRows(probe, 0, out, kernels.Rows(out)-1, 1)
		_, err := be.Download(probe)
		return nil, err
	}
}

// matMulCase is one Linear layer of the block (B as [N,K], used transposed) with the
// epilogue the model fuses: bias, and GELU (fc1) or LayerScale and the in-place
// residual (proj, fc2).
func matMulCase(name string, m, k, n int, gelu, scaleRes bool, seed uint64) Case {
	return kernel(name, 2*float64(m*k*n), seed, func(u *uploads) (func(), kernels.Tensor) {
		a := u.rand(1, m, k)
		w := u.rand(1/math.Sqrt(float64(k)), n, k)
		ep := kernels.Epilogue{Bias: u.rand(0.02, n), GELU: gelu}
		dst := u.rand(1, m, n)
		if scaleRes {
			ep.Gamma, ep.Residual = u.rand(0.1, n), dst
		}
		return func() { u.be.MatMul(dst, a, w, true, ep) }, dst
	})
}

func attentionCase(name string, nq, nk, heads int, self bool, seed uint64) Case {
	return kernel(name, 4*float64(nq*nk*Width), seed, func(u *uploads) (func(), kernels.Tensor) {
		q := u.rand(1, nq, Width)
		k, v := q, q
		if !self {
			k, v = u.rand(1, nk, Width), u.rand(1, nk, Width)
		}
		dst := u.zeros(nq, Width)
		scale := float32(1 / math.Sqrt(float64(Width/heads)))
		return func() { u.be.Attention(dst, q, k, v, nil, heads, scale) }, dst
	})
}

func layerNormCase(name string, t int, seed uint64) Case {
	return kernel(name, 8*float64(t*Width), seed, func(u *uploads) (func(), kernels.Tensor) {
		x, gm, bt := u.rand(1, t, Width), u.rand(1, Width), u.rand(1, Width)
		dst := u.zeros(t, Width)
		return func() { u.be.LayerNorm(dst, x, gm, bt, 1e-6) }, dst
	})
}

func patchEmbedCase(name string, size int, seed uint64) Case {
	g := Grid(size)
	n := g * g
	return kernel(name, 2*float64(n*Width*3*Patch*Patch), seed, func(u *uploads) (func(), kernels.Tensor) {
		img := u.rand(1, 3, size, size)
		w := u.rand(1/math.Sqrt(3*Patch*Patch), Width, 3, Patch, Patch)
		b, cls, pos := u.rand(0.02, Width), u.rand(0.02, Width), u.rand(0.02, n+1, Width)
		dst := u.zeros(n+1, Width)
		return func() { u.be.PatchEmbed(dst, img, w, b, cls, pos, Patch) }, dst
	})
}

// cosineTopKCase: the cosines are the output compared (the indices could differ on
// near-ties).
func cosineTopKCase(name string, n, k int, seed uint64) Case {
	return kernel(name, 2*float64(n*n*Width), seed, func(u *uploads) (func(), kernels.Tensor) {
		a, b := u.rand(1, n, Width), u.rand(1, n, Width)
		vals, idx := u.zeros(n, k), u.zeros(n, k)
		return func() { u.be.CosineTopK(vals, idx, a, b, k) }, vals
	})
}

// nveCase counts N·(2kC + 2k²C + 4rC) FLOP (centre, Gram, erase; not the eigen-solve).
func nveCase(name string, n, k, r int, seed uint64) Case {
	flop := float64(n) * float64(2*k*Width+2*k*k*Width+4*r*Width)
	return kernel(name, flop, seed, func(u *uploads) (func(), kernels.Tensor) {
		f, nb := u.rand(1, n, Width), u.rand(1, n, Width)
		vals, idx := u.zeros(n, k), u.zeros(n, k)
		u.be.CosineTopK(vals, idx, f, nb, k)
		dst := u.zeros(n, Width)
		return func() { u.be.NVE(dst, f, nb, vals, idx, r, 0.8) }, dst
	})
}

func projectionCase(name string, n int, seed uint64) Case {
	return kernel(name, 4*float64(n*HeadVectors*Width), seed, func(u *uploads) (func(), kernels.Tensor) {
		d, ts := u.rand(1, n, Width), u.rand(1, HeadVectors, Width)
		dst := u.zeros(n)
		return func() { u.be.Projection(dst, d, ts) }, dst
	})
}

// blockCase is one pre-norm ViT-S/14 block over t tokens (LN, q/k/v, attention,
// projection with LayerScale and residual, LN, fc1+GELU, fc2 with LayerScale and
// residual), updating x in place; its output is x.
func blockCase(name string, t int, seed uint64) Case {
	c := kernel(name, BlockFLOP(t), seed, func(u *uploads) (func(), kernels.Tensor) {
		x := u.rand(1, t, Width)
		one := u.add(u.be.Upload(ones(Width), Width))
		zero := u.zeros(Width)
		wq, wk, wv := u.rand(0.05, Width, Width), u.rand(0.05, Width, Width), u.rand(0.05, Width, Width)
		wo, bo, g1 := u.rand(0.05, Width, Width), u.rand(0.1, Width), u.rand(0.1, Width)
		w1, b1 := u.rand(0.05, Hidden, Width), u.rand(0.1, Hidden)
		w2, b2, g2 := u.rand(0.02, Width, Hidden), u.rand(0.1, Width), u.rand(0.1, Width)
		h, att, mlp := u.zeros(t, Width), u.zeros(t, Width), u.zeros(t, Hidden)
		q, k, v := u.zeros(t, Width), u.zeros(t, Width), u.zeros(t, Width)
		be := u.be
		return func() {
			be.LayerNorm(h, x, one, zero, 1e-6)
			be.MatMul(q, h, wq, true, kernels.Epilogue{Bias: bo})
			be.MatMul(k, h, wk, true, kernels.Epilogue{Bias: bo})
			be.MatMul(v, h, wv, true, kernels.Epilogue{Bias: bo})
			be.Attention(att, q, k, v, nil, Heads, 0.125)
			be.MatMul(x, att, wo, true, kernels.Epilogue{Bias: bo, Gamma: g1, Residual: x})
			be.LayerNorm(h, x, one, zero, 1e-6)
			be.MatMul(mlp, h, w1, true, kernels.Epilogue{Bias: b1, GELU: true})
			be.MatMul(x, mlp, w2, true, kernels.Epilogue{Bias: b2, Gamma: g2, Residual: x})
		}, x
	})
	c.PerForward = Depth
	return c
}

func ones(n int) []float32 {
	o := make([]float32, n)
	for i := range o {
		o[i] = 1
	}
	return o
}
