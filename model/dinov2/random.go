package dinov2

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ideal-fsad/ideal/tensor"
)

// RandomWeights initialises a DINOv2 ViT (Hugging Face names) the way its training starts: Linear and
// patch weights and the position embedding truncated normal (std 0.02, cut at ±2σ),
// the CLS token N(0, 1e-6²), biases 0, LayerNorms 1/0, LayerScale 1e-5. It is
// deterministic for a seed; the demo, the browser engine and tests use it.
func RandomWeights(c, depth, patch, grid int, seed uint64) map[string]*tensor.Dense {
	rng := rand.New(rand.NewPCG(seed, 0x1dea1))
	trunc := func(std float64, shape ...int) *tensor.Dense {
		t := tensor.New(shape...)
		for i := range t.Data {
			v := rng.NormFloat64()
			for v < -2 || v > 2 {
				v = rng.NormFloat64()
			}
			t.Data[i] = float32(std * v)
		}
		return t
	}
	fill := func(v float32, shape ...int) *tensor.Dense {
		t := tensor.New(shape...)
		for i := range t.Data {
			t.Data[i] = v
		}
		return t
	}
	ts := map[string]*tensor.Dense{
		"embeddings.patch_embeddings.projection.weight": trunc(0.02, c, 3, patch, patch),
		"embeddings.patch_embeddings.projection.bias":   fill(0, c),
		"embeddings.cls_token":                          trunc(1e-6, 1, 1, c),
		"embeddings.mask_token":                         fill(0, 1, c),
		"embeddings.position_embeddings":                trunc(0.02, 1, 1+grid*grid, c),
		"layernorm.weight":                              fill(1, c),
		"layernorm.bias":                                fill(0, c),
	}
	for i := range depth {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		for _, n := range []string{"attention.attention.query", "attention.attention.key", "attention.attention.value", "attention.output.dense"} {
			ts[p+n+".weight"] = trunc(0.02, c, c)
			ts[p+n+".bias"] = fill(0, c)
		}
		ts[p+"mlp.fc1.weight"], ts[p+"mlp.fc1.bias"] = trunc(0.02, 4*c, c), fill(0, 4*c)
		ts[p+"mlp.fc2.weight"], ts[p+"mlp.fc2.bias"] = trunc(0.02, c, 4*c), fill(0, c)
		for _, n := range []string{"norm1", "norm2"} {
			ts[p+n+".weight"], ts[p+n+".bias"] = fill(1, c), fill(0, c)
		}
		ts[p+"layer_scale1.lambda1"], ts[p+"layer_scale2.lambda1"] = fill(1e-5, c), fill(1e-5, c)
	}
	return ts
}

// RandomTrainedLike returns random DINOv2 weights (Hugging Face names) scaled like a
// trained network rather than like one at initialisation: Linear weights N(0, 1/in),
// LayerNorm scales N(1, 0.1²), LayerScale N(0.3, 0.1²), so every block changes the
// residual stream and activations stay in a trained network's range. Benchmarks and
// parity tests use it: with RandomWeights' LayerScale of 1e-5 the blocks would be
// nearly the identity and hide errors. registers > 0 adds register tokens.
func RandomTrainedLike(c, depth, patch, grid, registers int, seed uint64) map[string]*tensor.Dense {
	r := rand.New(rand.NewPCG(seed, 1))
	ts := map[string]*tensor.Dense{}
	add := func(name string, std, mean float64, shape ...int) {
		t := tensor.New(shape...)
		for i := range t.Data {
			t.Data[i] = float32(mean + std*r.NormFloat64())
		}
		ts[name] = t
	}
	add("embeddings.cls_token", 0.02, 0, 1, 1, c)
	add("embeddings.mask_token", 0.02, 0, 1, c)
	add("embeddings.position_embeddings", 0.02, 0, 1, 1+grid*grid, c)
	add("embeddings.patch_embeddings.projection.weight", 1/math.Sqrt(float64(3*patch*patch)), 0, c, 3, patch, patch)
	add("embeddings.patch_embeddings.projection.bias", 0.02, 0, c)
	if registers > 0 {
		add("embeddings.register_tokens", 0.5, 0, 1, registers, c)
	}
	lin := func(name string, out, in int) {
		add(name+".weight", 1/math.Sqrt(float64(in)), 0, out, in)
		add(name+".bias", 0.02, 0, out)
	}
	for i := range depth {
		p := fmt.Sprintf("encoder.layer.%d.", i)
		add(p+"norm1.weight", 0.1, 1, c)
		add(p+"norm1.bias", 0.02, 0, c)
		for _, n := range []string{"query", "key", "value"} {
			lin(p+"attention.attention."+n, c, c)
		}
		lin(p+"attention.output.dense", c, c)
		add(p+"layer_scale1.lambda1", 0.1, 0.3, c)
		add(p+"norm2.weight", 0.1, 1, c)
		add(p+"norm2.bias", 0.02, 0, c)
		lin(p+"mlp.fc1", 4*c, c)
		lin(p+"mlp.fc2", c, 4*c)
		add(p+"layer_scale2.lambda1", 0.1, 0.3, c)
	}
	add("layernorm.weight", 0.1, 1, c)
	add("layernorm.bias", 0.02, 0, c)
	return ts
}
