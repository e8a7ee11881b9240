package dinov2

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

// LayerNormEps is the ε of every LayerNorm of DINOv2.
const LayerNormEps = 1e-6

// Options adjust how a weight file is read.
type Options struct {
	// Prefix is prepended to every tensor name (e.g. "inner.vision_encoder."). When
	// empty it is detected from the patch-embedding weight's name.
	Prefix string
	// Heads overrides the number of attention heads (0: from metadata, a config.json
	// beside the file, or C/64).
	Heads int
}

// Config is the architecture read from the weights.
type Config struct {
	Naming    string // "huggingface" or "torch-hub"
	Prefix    string // the name prefix found or given
	Width     int    // C
	Depth     int    // number of blocks
	Heads     int
	Patch     int // patch size in pixels
	PosGrid   int // side of the trained position grid (37 for the official models)
	Registers int // register tokens (4 for the reg4 variants, else 0)
}

// Tokens is the sequence length for an S×S input: CLS, registers, G² patches.
func (c Config) Tokens(s int) int { g := s / c.Patch; return 1 + c.Registers + g*g }

// FLOPs counts the multiply-adds (×2) of one forward at S×S: the patch embedding, the
// q/k/v, output and MLP products, and the two attention products.
func (c Config) FLOPs(s int) float64 {
	g := s / c.Patch
	n, t, w := float64(g*g), float64(c.Tokens(s)), float64(c.Width)
	embed := 2 * n * w * float64(3*c.Patch*c.Patch)
	block := 2*t*w*3*w + 2*2*t*t*w + 2*t*w*w + 2*2*t*w*4*w
	return embed + float64(c.Depth)*block
}

// block is one transformer block's parameters, q/k/v split, Linear layout [out, in].
type block struct {
	norm1W, norm1B, wq, bq, wk, bk, wv, bv, wo, bo, ls1 *tensor.Dense
	norm2W, norm2B, w1, b1, w2, b2, ls2                 *tensor.Dense
}

// params is the host copy of every tensor the forward uses.
type params struct {
	patchW, patchB, cls, pos, registers *tensor.Dense // pos: [1+PosGrid², C]
	blocks                              []block
	normW, normB                        *tensor.Dense
}

// names is one naming scheme, without the prefix.
type names struct {
	kind                                   string
	patchW, patchB, cls, pos, mask, regs   string
	normW, normB                           string
	blockPrefix                            string   // "encoder.layer." or "blocks."
	owned                                  []string // name starts that belong to the model
	norm1, norm2, ls1, ls2, fc1, fc2, outP string   // block-relative
	q, k, v, qkv                           string
}

var hfNames = names{
	kind:   "huggingface",
	patchW: "embeddings.patch_embeddings.projection.weight", patchB: "embeddings.patch_embeddings.projection.bias",
	cls: "embeddings.cls_token", pos: "embeddings.position_embeddings", mask: "embeddings.mask_token",
	regs: "embeddings.register_tokens", normW: "layernorm.weight", normB: "layernorm.bias",
	blockPrefix: "encoder.layer.", owned: []string{"embeddings.", "encoder.", "layernorm."},
	norm1: "norm1", norm2: "norm2", ls1: "layer_scale1.lambda1", ls2: "layer_scale2.lambda1",
	fc1: "mlp.fc1", fc2: "mlp.fc2", outP: "attention.output.dense",
	q: "attention.attention.query", k: "attention.attention.key", v: "attention.attention.value",
}

var hubNames = names{
	kind:   "torch-hub",
	patchW: "patch_embed.proj.weight", patchB: "patch_embed.proj.bias",
	cls: "cls_token", pos: "pos_embed", mask: "mask_token", regs: "register_tokens",
	normW: "norm.weight", normB: "norm.bias",
	blockPrefix: "blocks.", owned: []string{"blocks.", "patch_embed.", "norm.", "cls_token", "pos_embed", "mask_token", "register_tokens"},
	norm1: "norm1", norm2: "norm2", ls1: "ls1.gamma", ls2: "ls2.gamma",
	fc1: "mlp.fc1", fc2: "mlp.fc2", outP: "attn.proj", qkv: "attn.qkv",
}

// Load reads a backbone weight file (safetensors, a torch.save state dict or a
// TorchScript archive; see weights.Load) and builds the model. When Options.Heads is 0 and
// the file's metadata does not name the head count, a config.json in the same folder
// (Hugging Face layout) is consulted for num_attention_heads or num_heads.
func Load(path string, opt Options) (*Model, error) {
	f, err := weights.Load(path)
	if err != nil {
		return nil, fmt.Errorf("dinov2: %w", err)
	}
	if opt.Heads == 0 && headsFromMetadata(f.Metadata) == 0 {
		h, err := headsFromConfig(filepath.Join(filepath.Dir(path), "config.json"))
		if err != nil {
			return nil, err
		}
		opt.Heads = h
	}
	m, err := FromFile(f, opt)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return m, nil
}

var headKeys = []string{"num_attention_heads", "num_heads"}

func headsFromMetadata(md map[string]string) int {
	for _, k := range headKeys {
		if v, err := strconv.Atoi(md[k]); err == nil && v > 0 {
			return v
		}
	}
	return 0
}

// headsFromConfig returns the head count of a config.json, 0 when the file is absent
// or does not name one.
func headsFromConfig(path string) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("dinov2: %w", err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return 0, fmt.Errorf("dinov2: %s is not a JSON object: %w", path, err)
	}
	for _, k := range headKeys {
		if v, ok := cfg[k].(float64); ok {
			if v < 1 || v != math.Trunc(v) {
				return 0, fmt.Errorf("dinov2: %s: %s = %v is not a positive integer", path, k, v)
			}
			return int(v), nil
		}
	}
	return 0, nil
}

// loader takes tensors by name, checking shapes and recording every problem.
type loader struct {
	f      *weights.File
	prefix string
	used   map[string]bool
	errs   []error
}

func (l *loader) take(name string, shape ...int) *tensor.Dense {
	full := l.prefix + name
	t, ok := l.f.Tensors[full]
	if !ok {
		l.errs = append(l.errs, fmt.Errorf("missing tensor %q (want shape %v)", full, shape))
		return nil
	}
	l.used[full] = true
	if !tensor.SameShape(t.Shape, shape) {
		l.errs = append(l.errs, fmt.Errorf("tensor %q has shape %v, want %v", full, t.Shape, shape))
		return nil
	}
	if i := tensor.NonFinite(t.Data); i >= 0 {
		l.errs = append(l.errs, fmt.Errorf("tensor %q holds a non-finite value %v at index %d", full, t.Data[i], i))
		return nil
	}
	return t
}

func (l *loader) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	const show = 8
	msgs := make([]string, 0, show+1)
	for i, e := range l.errs {
		if i == show {
			msgs = append(msgs, fmt.Sprintf("and %d more problems", len(l.errs)-show))
			break
		}
		msgs = append(msgs, e.Error())
	}
	return errors.New("dinov2: bad backbone weights: " + strings.Join(msgs, "; "))
}

// detect finds the naming scheme and prefix from the patch-embedding weight.
func detect(f *weights.File, prefix string) (names, string, error) {
	type hit struct {
		n      names
		prefix string
	}
	var hits []hit
	for name := range f.Tensors {
		for _, n := range []names{hfNames, hubNames} {
			if p, ok := strings.CutSuffix(name, n.patchW); ok && (prefix == "" || p == prefix) && (p == "" || strings.HasSuffix(p, ".")) {
				hits = append(hits, hit{n, p})
			}
		}
	}
	switch len(hits) {
	case 0:
		if prefix != "" {
			return names{}, "", fmt.Errorf("dinov2: no patch-embedding weight %q or %q in the file",
				prefix+hfNames.patchW, prefix+hubNames.patchW)
		}
		return names{}, "", fmt.Errorf("dinov2: not a DINOv2 backbone: no tensor named *%s or *%s", hfNames.patchW, hubNames.patchW)
	case 1:
		return hits[0].n, hits[0].prefix, nil
	}
	var found []string
	for _, h := range hits {
		found = append(found, h.prefix+h.n.patchW)
	}
	sort.Strings(found)
	return names{}, "", fmt.Errorf("dinov2: several backbones in one file (%s): give the prefix", strings.Join(found, ", "))
}

// FromFile builds the model from named tensors (see the package comment).
func FromFile(f *weights.File, opt Options) (*Model, error) {
	n, prefix, err := detect(f, opt.Prefix)
	if err != nil {
		return nil, err
	}
	cfg, err := readConfig(f, n, prefix, opt)
	if err != nil {
		return nil, err
	}
	p, err := takeParams(f, n, cfg)
	if err != nil {
		return nil, err
	}
	// Reshape the LayerScale/token tensors to plain vectors/matrices for the backend.
	c := cfg.Width
	p.cls = tensor.FromData(p.cls.Data, c)
	p.pos = tensor.FromData(p.pos.Data, 1+cfg.PosGrid*cfg.PosGrid, c)
	if p.registers != nil {
		p.registers = tensor.FromData(p.registers.Data, cfg.Registers, c)
	}
	return newModel(cfg, p), nil
}

// readConfig infers the configuration from the tensors of naming scheme n under
// prefix: the width and patch size from the patch embedding, the position grid,
// the register count, the depth and the head count.
func readConfig(f *weights.File, n names, prefix string, opt Options) (Config, error) {
	pw := f.Tensors[prefix+n.patchW]
	if len(pw.Shape) != 4 || pw.Shape[1] != 3 || pw.Shape[2] != pw.Shape[3] || pw.Shape[0] < 1 || pw.Shape[2] < 1 {
		return Config{}, fmt.Errorf("dinov2: tensor %q has shape %v, want [C 3 p p]", prefix+n.patchW, pw.Shape)
	}
	cfg := Config{Naming: n.kind, Prefix: prefix, Width: pw.Shape[0], Patch: pw.Shape[2]}
	c := cfg.Width

	pos, ok := f.Tensors[prefix+n.pos]
	if !ok {
		return Config{}, fmt.Errorf("dinov2: missing tensor %q (want shape [1 1+G² %d])", prefix+n.pos, c)
	}
	if len(pos.Shape) == 3 && pos.Shape[1] > 1 {
		g := int(math.Round(math.Sqrt(float64(pos.Shape[1] - 1))))
		if g*g == pos.Shape[1]-1 {
			cfg.PosGrid = g
		}
	}
	if cfg.PosGrid == 0 {
		return Config{}, fmt.Errorf("dinov2: tensor %q has shape %v, want [1 1+G² %d] (a square grid G×G plus CLS)", prefix+n.pos, pos.Shape, c)
	}
	if r, ok := f.Tensors[prefix+n.regs]; ok && len(r.Shape) == 3 {
		cfg.Registers = r.Shape[1]
	}
	var err error
	if cfg.Depth, err = blockDepth(f, prefix+n.blockPrefix); err != nil {
		return Config{}, err
	}
	if cfg.Heads, err = headCount(f, c, opt.Heads); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// blockDepth returns the number of transformer blocks: the block indices under the
// block prefix bp must be 0…depth−1.
func blockDepth(f *weights.File, bp string) (int, error) {
	maxIdx, seen := -1, map[int]bool{}
	for name := range f.Tensors {
		rest, ok := strings.CutPrefix(name, bp)
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		i, err := strconv.Atoi(num)
		if err != nil || i < 0 || strconv.Itoa(i) != num {
			return 0, fmt.Errorf("dinov2: unexpected tensor %q (shape %v): block index %q is not a number", name, f.Tensors[name].Shape, num)
		}
		maxIdx, seen[i] = max(maxIdx, i), true
	}
	if maxIdx < 0 {
		return 0, fmt.Errorf("dinov2: no transformer blocks (%s0.*) in the file", bp)
	}
	if len(seen) != maxIdx+1 {
		gap := 0
		for seen[gap] {
			gap++
		}
		return 0, fmt.Errorf("dinov2: block %d is missing: no tensor %s%d.* although blocks up to %d exist", gap, bp, gap, maxIdx)
	}
	return maxIdx + 1, nil
}

// headCount returns the attention head count of a width-c model: the given one
// (heads > 0), else the file's metadata, else c/64; it must divide c.
func headCount(f *weights.File, c, heads int) (int, error) {
	var h int
	switch {
	case heads > 0:
		h = heads
	case heads < 0:
		return 0, fmt.Errorf("dinov2: heads = %d, want a positive number", heads)
	case headsFromMetadata(f.Metadata) > 0:
		h = headsFromMetadata(f.Metadata)
	case c%64 == 0:
		h = c / 64
	default:
		return 0, fmt.Errorf("dinov2: cannot infer the number of heads of a width-%d model (not a multiple of 64): give it explicitly (Options.Heads, ideal --heads), in the file's metadata (num_attention_heads) or in a config.json beside it", c)
	}
	if c%h != 0 {
		return 0, fmt.Errorf("dinov2: width %d does not split into %d heads", c, h)
	}
	return h, nil
}

// takeParams takes every tensor of the model described by cfg, checking the shapes,
// and reports every problem at once, including tensors of the model's own name
// spaces that are not part of it.
func takeParams(f *weights.File, n names, cfg Config) (*params, error) {
	c, prefix := cfg.Width, cfg.Prefix
	l := &loader{f: f, prefix: prefix, used: map[string]bool{}}
	p := &params{
		patchW: l.take(n.patchW, c, 3, cfg.Patch, cfg.Patch),
		patchB: l.take(n.patchB, c),
		cls:    l.take(n.cls, 1, 1, c),
		pos:    l.take(n.pos, 1, 1+cfg.PosGrid*cfg.PosGrid, c),
		normW:  l.take(n.normW, c),
		normB:  l.take(n.normB, c),
	}
	if _, ok := f.Tensors[prefix+n.mask]; ok { // unused at inference, but must fit
		l.take(n.mask, 1, c)
	}
	if cfg.Registers > 0 {
		p.registers = l.take(n.regs, 1, cfg.Registers, c)
	} else if _, ok := f.Tensors[prefix+n.regs]; ok {
		l.take(n.regs, 1, 1, c) // reports the bad shape
	}
	for i := range cfg.Depth {
		p.blocks = append(p.blocks, takeBlock(l, n, fmt.Sprintf("%s%d.", n.blockPrefix, i), c))
	}
	var extra []string
	for name := range f.Tensors {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok || l.used[name] {
			continue
		}
		if slices.ContainsFunc(n.owned, func(o string) bool { return strings.HasPrefix(rest, o) }) {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		l.errs = append(l.errs, fmt.Errorf("unexpected tensor %q (shape %v) is not part of a %s DINOv2", name, f.Tensors[name].Shape, n.kind))
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	return p, nil
}

func takeBlock(l *loader, n names, bp string, c int) block {
	b := block{
		norm1W: l.take(bp+n.norm1+".weight", c), norm1B: l.take(bp+n.norm1+".bias", c),
		wo: l.take(bp+n.outP+".weight", c, c), bo: l.take(bp+n.outP+".bias", c),
		ls1:    l.take(bp+n.ls1, c),
		norm2W: l.take(bp+n.norm2+".weight", c), norm2B: l.take(bp+n.norm2+".bias", c),
		w1: l.take(bp+n.fc1+".weight", 4*c, c), b1: l.take(bp+n.fc1+".bias", 4*c),
		w2: l.take(bp+n.fc2+".weight", c, 4*c), b2: l.take(bp+n.fc2+".bias", c),
		ls2: l.take(bp+n.ls2, c),
	}
	if n.qkv == "" {
		b.wq, b.bq = l.take(bp+n.q+".weight", c, c), l.take(bp+n.q+".bias", c)
		b.wk, b.bk = l.take(bp+n.k+".weight", c, c), l.take(bp+n.k+".bias", c)
		b.wv, b.bv = l.take(bp+n.v+".weight", c, c), l.take(bp+n.v+".bias", c)
		return b
	}
	// Fused [3C, C]: rows are q, then k, then v (timm/DINOv2 Attention layout).
	w, bias := l.take(bp+n.qkv+".weight", 3*c, c), l.take(bp+n.qkv+".bias", 3*c)
	if w == nil || bias == nil {
		return b
	}
	b.wq = tensor.FromData(w.Data[0:c*c], c, c)
	b.wk = tensor.FromData(w.Data[c*c:2*c*c], c, c)
	b.wv = tensor.FromData(w.Data[2*c*c:3*c*c], c, c)
	b.bq = tensor.FromData(bias.Data[0:c], c)
	b.bk = tensor.FromData(bias.Data[c:2*c], c)
	b.bv = tensor.FromData(bias.Data[2*c:3*c], c)
	return b
}
