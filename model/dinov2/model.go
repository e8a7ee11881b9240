package dinov2

import (
	"fmt"
	"math"
	"sync"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/tensor"
)

// Model is a loaded DINOv2 backbone. Its weights are uploaded to a backend on first
// use there and kept, with one workspace per input size, until Release; the forward
// then allocates nothing on the backend but the uploaded image. A Model may be used
// from several goroutines: forwards are serialised.
type Model struct {
	Config
	p *params

	mu       sync.Mutex
	bound    map[kernels.Backend]*bound
	team     Team                  // SetTeam
	teamErr  error                 // why the team was dropped
	progress func(done, total int) // SetProgress
}

func newModel(cfg Config, p *params) *Model {
	return &Model{Config: cfg, p: p, bound: map[kernels.Backend]*bound{}}
}

// bound is the model's state on one backend.
type bound struct {
	patchW, patchB, cls, posTrained, registers kernels.Tensor
	blocks                                     []dblock
	normW, normB                               kernels.Tensor
	ws                                         map[int]*workspace // by input side S
}

type dblock struct {
	norm1W, norm1B, wq, bq, wk, bk, wv, bv, wo, bo, ls1 kernels.Tensor
	norm2W, norm2B, w1, b1, w2, b2, ls2                 kernels.Tensor
}

// workspace holds the activations of one input size, and its position embedding.
type workspace struct {
	pos                kernels.Tensor // [1+N, C]: CLS position and the interpolated grid
	embed              kernels.Tensor // [1+N, C] before the registers are inserted (nil without registers)
	x, h, q, k, v, att kernels.Tensor // [T, C]
	mlp                kernels.Tensor // [T, 4C]
	out                kernels.Tensor // [N, C]
	all                []kernels.Tensor
	tokens             int
}

func (m *Model) bind(b kernels.Backend) *bound {
	if s, ok := m.bound[b]; ok {
		return s
	}
	up := func(t *tensor.Dense) kernels.Tensor {
		if t == nil {
			return nil
		}
		return b.Upload(t.Data, t.Shape...)
	}
	p := m.p
	s := &bound{
		patchW: up(p.patchW), patchB: up(p.patchB), cls: up(p.cls),
		posTrained: up(p.pos), registers: up(p.registers),
		normW: up(p.normW), normB: up(p.normB), ws: map[int]*workspace{},
	}
	for _, k := range p.blocks {
		s.blocks = append(s.blocks, dblock{
			norm1W: up(k.norm1W), norm1B: up(k.norm1B),
			wq: up(k.wq), bq: up(k.bq), wk: up(k.wk), bk: up(k.bk), wv: up(k.wv), bv: up(k.bv),
			wo: up(k.wo), bo: up(k.bo), ls1: up(k.ls1),
			norm2W: up(k.norm2W), norm2B: up(k.norm2B),
			w1: up(k.w1), b1: up(k.b1), w2: up(k.w2), b2: up(k.b2), ls2: up(k.ls2),
		})
	}
	m.bound[b] = s
	return s
}

// Release frees everything the model holds on backend b (weights and workspaces).
func (m *Model) Release(b kernels.Backend) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.bound[b]
	if !ok {
		return
	}
	for _, w := range s.ws {
		for _, t := range w.all {
			b.Free(t)
		}
	}
	for _, t := range []kernels.Tensor{s.patchW, s.patchB, s.cls, s.posTrained, s.registers, s.normW, s.normB} {
		b.Free(t)
	}
	for _, k := range s.blocks {
		for _, t := range []kernels.Tensor{k.norm1W, k.norm1B, k.wq, k.bq, k.wk, k.bk, k.wv, k.bv, k.wo, k.bo, k.ls1,
			k.norm2W, k.norm2B, k.w1, k.b1, k.w2, k.b2, k.ls2} {
			b.Free(t)
		}
	}
	delete(m.bound, b)
}

// workspace returns (building on first use) the activations and position embedding
// for input side S.
func (m *Model) workspace(b kernels.Backend, s *bound, size int) *workspace {
	if w, ok := s.ws[size]; ok {
		return w
	}
	c, g := m.Width, size/m.Patch
	n, t := g*g, m.Tokens(size)
	w := &workspace{tokens: t}
	z := func(shape ...int) kernels.Tensor {
		x := b.Zeros(shape...)
		w.all = append(w.all, x)
		return x
	}
	w.pos = z(1+n, c)
	b.CopyRows(w.pos, 0, s.posTrained, 0, 1)
	if g == m.PosGrid {
		// Both reference implementations skip the interpolation at the trained size.
		b.CopyRows(w.pos, 1, s.posTrained, 1, n)
	} else {
		// Bicubic of the trained grid with scale factor (G + 0.1)/G_trained (spec §3).
		g2 := m.PosGrid * m.PosGrid
		grid := b.Zeros(g2, c)
		b.CopyRows(grid, 0, s.posTrained, 1, g2)
		interp := b.Zeros(n, c)
		scale := (float64(g) + 0.1) / float64(m.PosGrid)
		b.Bicubic(interp, grid, m.PosGrid, m.PosGrid, g, g, scale, scale)
		b.CopyRows(w.pos, 1, interp, 0, n)
		b.Free(grid)
		b.Free(interp)
	}
	if m.Registers > 0 {
		w.embed = z(1+n, c)
	}
	w.x, w.h, w.q, w.k, w.v, w.att = z(t, c), z(t, c), z(t, c), z(t, c), z(t, c), z(t, c)
	w.mlp = z(t, 4*c)
	w.out = z(n, c)
	s.ws[size] = w
	return w
}

// MaxGrid bounds the patch grid side G = S/patch (3584 pixels for patch 14): beyond
// it the activations alone take gigabytes, and a typo in a size is more likely.
const MaxGrid = 256

// CheckSize reports whether S is a usable input side: a positive multiple of the
// patch size, at most MaxGrid patches across.
func (m *Model) CheckSize(size int) error {
	if size <= 0 || size%m.Patch != 0 {
		return fmt.Errorf("dinov2: input size %d is not a positive multiple of the patch size %d", size, m.Patch)
	}
	if size/m.Patch > MaxGrid {
		return fmt.Errorf("dinov2: input size %d exceeds the largest supported, %d (%d patches across)", size, MaxGrid*m.Patch, MaxGrid)
	}
	return nil
}

// CheckInput validates an image for Features: 3·S·S finite values, S a positive
// multiple of the patch size.
func (m *Model) CheckInput(pixels []float32, size int) error {
	if err := m.CheckSize(size); err != nil {
		return err
	}
	if len(pixels) != 3*size*size {
		return fmt.Errorf("dinov2: %d pixel values for a 3×%d×%d image (want %d)", len(pixels), size, size, 3*size*size)
	}
	if i := tensor.NonFinite(pixels); i >= 0 {
		return fmt.Errorf("dinov2: pixel value %d is %v", i, pixels[i])
	}
	return nil
}

// Forward runs the backbone on backend b for one normalised CHW image of side size
// and returns the patch features [N, C] as a backend tensor owned by the model: it is
// valid until the next Forward at the same size on b, or Release, so a caller sharing
// the model between goroutines should use Features instead.
func (m *Model) Forward(b kernels.Backend, pixels []float32, size int) (kernels.Tensor, error) {
	if err := m.CheckInput(pixels, size); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.forward(b, pixels, size), nil
}

// forward is Forward on checked input, with m.mu held.
func (m *Model) forward(b kernels.Backend, pixels []float32, size int) kernels.Tensor {
	s := m.bind(b)
	w := m.workspace(b, s, size)
	m.embed(b, s, w, pixels, size)
	a := &acts{x: w.x, h: w.h, q: w.q, k: w.k, v: w.v, att: w.att, mlp: w.mlp}
	solo := func() (kernels.Tensor, kernels.Tensor, error) { return w.k, w.v, nil }
	for i, k := range s.blocks {
		m.block(b, k, a, solo) // solo never fails
		m.report(i+1, len(s.blocks))
	}
	return m.finalNorm(b, s, w, w.x)
}

// acts are the activations a block reads and writes: rows of x (updated in place), h,
// q, k, v, the attention output and the MLP's hidden layer.
type acts struct{ x, h, q, k, v, att, mlp kernels.Tensor }

// block runs one transformer block on a's rows; keys gives the K and V the
// attention reads (a's own, or every member's rows gathered).
func (m *Model) block(b kernels.Backend, k dblock, a *acts, keys func() (kernels.Tensor, kernels.Tensor, error)) error {
	scale := float32(1 / math.Sqrt(float64(m.Width/m.Heads)))
	b.LayerNorm(a.h, a.x, k.norm1W, k.norm1B, LayerNormEps)
	b.MatMul(a.q, a.h, k.wq, true, kernels.Epilogue{Bias: k.bq})
	b.MatMul(a.k, a.h, k.wk, true, kernels.Epilogue{Bias: k.bk})
	b.MatMul(a.v, a.h, k.wv, true, kernels.Epilogue{Bias: k.bv})
	kAll, vAll, err := keys()
	if err != nil {
		return err
	}
	b.Attention(a.att, a.q, kAll, vAll, nil, m.Heads, scale)
	b.MatMul(a.x, a.att, k.wo, true, kernels.Epilogue{Bias: k.bo, Gamma: k.ls1, Residual: a.x})
	b.LayerNorm(a.h, a.x, k.norm2W, k.norm2B, LayerNormEps)
	b.MatMul(a.mlp, a.h, k.w1, true, kernels.Epilogue{Bias: k.b1, GELU: true})
	b.MatMul(a.x, a.mlp, k.w2, true, kernels.Epilogue{Bias: k.b2, Gamma: k.ls2, Residual: a.x})
	return nil
}

// embed fills w.x with the tokens of the image: CLS, registers and patch embeddings
// with their position embedding.
func (m *Model) embed(b kernels.Backend, s *bound, w *workspace, pixels []float32, size int) {
	img := b.Upload(pixels, 3, size, size)
	defer b.Free(img)
	if m.Registers == 0 {
		b.PatchEmbed(w.x, img, s.patchW, s.patchB, s.cls, w.pos, m.Patch)
		return
	}
	// The position embedding covers CLS and patches; registers go in between after.
	n := w.tokens - 1 - m.Registers
	b.PatchEmbed(w.embed, img, s.patchW, s.patchB, s.cls, w.pos, m.Patch)
	b.CopyRows(w.x, 0, w.embed, 0, 1)
	b.CopyRows(w.x, 1, s.registers, 0, m.Registers)
	b.CopyRows(w.x, 1+m.Registers, w.embed, 1, n)
}

// finalNorm is the last LayerNorm on the patch rows of x (T tokens) into w.out. It is
// per token, so normalising only the patch rows is the same.
func (m *Model) finalNorm(b kernels.Backend, s *bound, w *workspace, x kernels.Tensor) kernels.Tensor {
	n := w.tokens - 1 - m.Registers
	b.CopyRows(w.out, 0, x, 1+m.Registers, n)
	b.LayerNorm(w.out, w.out, s.normW, s.normB, LayerNormEps)
	return w.out
}

// Features runs Forward and downloads the patch features as a host tensor [N, C]
// (row-major patch grid).
func (m *Model) Features(b kernels.Backend, pixels []float32, size int) (*tensor.Dense, error) {
	if err := m.CheckInput(pixels, size); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.team != nil && m.team.Members() > 1 {
		return m.teamFeatures(b, pixels, size)
	}
	return m.download(b, m.forward(b, pixels, size), size)
}

// download returns a pass's features as a host tensor.
func (m *Model) download(b kernels.Backend, out kernels.Tensor, size int) (*tensor.Dense, error) {
	d, err := b.Download(out)
	if err != nil {
		return nil, fmt.Errorf("dinov2: %s backend: %w", b.Name(), err)
	}
	g := size / m.Patch
	return tensor.FromData(d, g*g, m.Width), nil
}
