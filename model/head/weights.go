package head

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

// Default hyper-parameters (spec §5, §6), used when a weights file has no metadata for them.
const (
	DefaultTopK    = 12
	DefaultTopR    = 4
	DefaultAlpha   = 0.8
	DefaultHeads   = 8
	DefaultVectors = 45
)

// Official parameter names (the authors' state dict, spec §6).
const (
	NameVectors  = "learnable_vectors.weight"
	NameInProjW  = "cro_attn.multihead_attn.in_proj_weight"
	NameInProjB  = "cro_attn.multihead_attn.in_proj_bias"
	NameOutProjW = "cro_attn.multihead_attn.out_proj.weight"
	NameOutProjB = "cro_attn.multihead_attn.out_proj.bias"
	NameNormW    = "cro_attn.norm.weight"
	NameNormB    = "cro_attn.norm.bias"
	NameFC1W     = "ffn_layer.fc1.weight"
	NameFC1B     = "ffn_layer.fc1.bias"
	NameFC2W     = "ffn_layer.fc2.weight"
	NameFC2B     = "ffn_layer.fc2.bias"
	NameNormOutW = "norm_out.weight"
	NameNormOutB = "norm_out.bias"
)

// Metadata keys of the hyper-parameters (as in the reference head file).
const (
	MetaTopK  = "topk"
	MetaTopR  = "topr"
	MetaAlpha = "proj_alpha"
	MetaHeads = "nheads"
)

// Config holds the head's hyper-parameters.
type Config struct {
	TopK  int     // k of the NVE neighbourhood (before the min with the number of normal patches)
	TopR  int     // r, the number of principal directions erased
	Alpha float32 // α, the erase strength
	Heads int     // attention heads of the IDE
}

// DefaultConfig returns the spec's hyper-parameters.
func DefaultConfig() Config {
	return Config{TopK: DefaultTopK, TopR: DefaultTopR, Alpha: DefaultAlpha, Heads: DefaultHeads}
}

// Weights are the IDE head's parameters (host memory) and hyper-parameters. M (the
// number of deviation vectors) and C (the feature width) come from learnable_vectors.
type Weights struct {
	Config
	Tensors map[string]*tensor.Dense // by official name
}

// M is the number of learnable deviation vectors.
func (w *Weights) M() int { return w.Tensors[NameVectors].Shape[0] }

// C is the feature width.
func (w *Weights) C() int { return w.Tensors[NameVectors].Shape[1] }

// shapes returns the expected shape of every parameter for m vectors of width c.
func shapes(m, c int) map[string][]int {
	return map[string][]int{
		NameVectors:  {m, c},
		NameInProjW:  {3 * c, c},
		NameInProjB:  {3 * c},
		NameOutProjW: {c, c},
		NameOutProjB: {c},
		NameNormW:    {c},
		NameNormB:    {c},
		NameFC1W:     {4 * c, c},
		NameFC1B:     {4 * c},
		NameFC2W:     {c, 4 * c},
		NameFC2B:     {c},
		NameNormOutW: {c},
		NameNormOutB: {c},
	}
}

// Load loads head weights from a file of any kind weights.Load reads (safetensors, a
// torch.save state dict, a TorchScript archive), as FromFile takes them from it; named
// like dinov2.Load.
func Load(path, prefix string) (*Weights, error) {
	f, err := weights.Load(path)
	if err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	w, err := FromFile(f, prefix)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return w, nil
}

// FromFile takes the head's weights from f (see takeWeights), the parameters named
// prefix + official name; an empty prefix is detected from where
// learnable_vectors.weight sits (e.g. "inner." in a traced model of the authors).
func FromFile(f *weights.File, prefix string) (*Weights, error) {
	if prefix == "" {
		var err error
		if prefix, err = f.FindPrefix(NameVectors); err != nil {
			return nil, fmt.Errorf("head: not an IDEAL head: %w", err)
		}
	}
	return takeWeights(f, prefix)
}

// moduleRoots are the head's sub-modules: a tensor under one of them (after the prefix)
// must be one of the head's parameters.
var moduleRoots = []string{"learnable_vectors.", "cro_attn.", "ffn_layer.", "norm_out."}

// takeWeights takes the head's parameters from f, each named prefix + official name
// (prefix is "" for a plain state dict, e.g. "inner." for the authors' traced model). Every
// parameter must be present with its exact shape, and no other tensor may sit in the
// head's modules (learnable_vectors, cro_attn, ffn_layer, norm_out); tensors of other
// modules (a backbone stored in the same file) are ignored. The hyper-parameters come
// from f.Metadata (keys topk, topr, proj_alpha, nheads), with the spec's defaults for
// absent keys.
func takeWeights(f *weights.File, prefix string) (*Weights, error) {
	tv, ok := f.Tensors[prefix+NameVectors]
	if !ok {
		return nil, fmt.Errorf("head: tensor %q missing", prefix+NameVectors)
	}
	if len(tv.Shape) != 2 || tv.Shape[0] < 1 || tv.Shape[1] < 1 {
		return nil, fmt.Errorf("head: tensor %q has shape %v, want [M C]", prefix+NameVectors, tv.Shape)
	}
	m, c := tv.Shape[0], tv.Shape[1]
	want := shapes(m, c)
	w := &Weights{Tensors: map[string]*tensor.Dense{}}
	for name, shape := range want {
		t, ok := f.Tensors[prefix+name]
		if !ok {
			return nil, fmt.Errorf("head: tensor %q missing", prefix+name)
		}
		if !tensor.SameShape(t.Shape, shape) {
			return nil, fmt.Errorf("head: tensor %q has shape %v, want %v (M = %d, C = %d from %s)", prefix+name, t.Shape, shape, m, c, NameVectors)
		}
		if i := tensor.NonFinite(t.Data); i >= 0 {
			return nil, fmt.Errorf("head: tensor %q holds a non-finite value (%v at %d)", prefix+name, t.Data[i], i)
		}
		w.Tensors[name] = t
	}
	for name := range f.Tensors {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		for _, root := range moduleRoots {
			if _, known := want[rest]; strings.HasPrefix(rest, root) && !known {
				return nil, fmt.Errorf("head: unexpected tensor %q (not a parameter of the IDEAL head)", name)
			}
		}
	}
	cfg, err := parseConfig(f.Metadata)
	if err != nil {
		return nil, err
	}
	if c%cfg.Heads != 0 {
		return nil, fmt.Errorf("head: width %d does not split into %d heads", c, cfg.Heads)
	}
	if c%4 != 0 {
		return nil, fmt.Errorf("head: width %d is not a multiple of 4, which the sine position code needs", c)
	}
	w.Config = cfg
	return w, nil
}

func parseConfig(md map[string]string) (Config, error) {
	cfg := DefaultConfig()
	ints := []struct {
		key string
		dst *int
	}{{MetaTopK, &cfg.TopK}, {MetaTopR, &cfg.TopR}, {MetaHeads, &cfg.Heads}}
	for _, it := range ints {
		if s, ok := md[it.key]; ok {
			v, err := strconv.Atoi(s)
			if err != nil || v < 1 {
				return cfg, fmt.Errorf("head: metadata %s = %q, want a positive integer", it.key, s)
			}
			*it.dst = v
		}
	}
	if s, ok := md[MetaAlpha]; ok {
		v, err := strconv.ParseFloat(s, 32)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return cfg, fmt.Errorf("head: metadata %s = %q, want a number", MetaAlpha, s)
		}
		cfg.Alpha = float32(v)
	}
	if cfg.TopR > cfg.TopK {
		return cfg, fmt.Errorf("head: metadata %s = %d exceeds %s = %d", MetaTopR, cfg.TopR, MetaTopK, cfg.TopK)
	}
	return cfg, nil
}

// Metadata returns the hyper-parameters as safetensors metadata.
func (w *Weights) Metadata() map[string]string {
	return map[string]string{
		MetaTopK:  strconv.Itoa(w.TopK),
		MetaTopR:  strconv.Itoa(w.TopR),
		MetaAlpha: strconv.FormatFloat(float64(w.Alpha), 'g', -1, 32),
		MetaHeads: strconv.Itoa(w.Heads),
	}
}

// WriteFile saves the weights as safetensors with the official names and the
// hyper-parameters in the metadata, atomically.
func (w *Weights) WriteFile(path string) error {
	if err := weights.WriteSafetensors(path, w.Tensors, w.Metadata()); err != nil {
		return fmt.Errorf("head: %w", err)
	}
	return nil
}

// Init returns a freshly initialised head of width c with m deviation vectors and the
// default hyper-parameters (spec §8): T ~ N(0, 1); the attention in-projection
// Xavier-uniform; every Linear (out-projection, FFN) truncated normal with std 0.01 cut
// at ±0.03; biases 0; LayerNorms weight 1, bias 0. The same seed gives the same head.
func Init(c, m int, seed uint64) (*Weights, error) {
	cfg := DefaultConfig()
	if c < 1 || m < 1 || c%cfg.Heads != 0 {
		return nil, fmt.Errorf("head: cannot initialise width %d with %d vectors (width must be a positive multiple of %d)", c, m, cfg.Heads)
	}
	rng := rand.New(rand.NewPCG(seed, 0x1dea1))
	w := &Weights{Config: cfg, Tensors: map[string]*tensor.Dense{}}
	for name, shape := range shapes(m, c) {
		w.Tensors[name] = tensor.New(shape...)
	}
	// Fill in a fixed order so the seed determines the result.
	for i := range w.Tensors[NameVectors].Data {
		w.Tensors[NameVectors].Data[i] = float32(rng.NormFloat64())
	}
	bound := math.Sqrt(6 / float64(c+3*c)) // fan_in = C, fan_out = 3C
	for i := range w.Tensors[NameInProjW].Data {
		w.Tensors[NameInProjW].Data[i] = float32((2*rng.Float64() - 1) * bound)
	}
	for _, name := range []string{NameOutProjW, NameFC1W, NameFC2W} {
		for i := range w.Tensors[name].Data {
			w.Tensors[name].Data[i] = float32(truncNormal(rng, 0.01, 0.03))
		}
	}
	for _, name := range []string{NameNormW, NameNormOutW} {
		for i := range w.Tensors[name].Data {
			w.Tensors[name].Data[i] = 1
		}
	}
	return w, nil
}

// truncNormal draws from N(0, std²) restricted to [−cut, cut] by rejection.
func truncNormal(rng *rand.Rand, std, cut float64) float64 {
	for {
		if v := rng.NormFloat64() * std; math.Abs(v) <= cut {
			return v
		}
	}
}
