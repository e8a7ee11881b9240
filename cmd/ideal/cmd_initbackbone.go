package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

func init() {
	register("init-backbone", "write a seeded random DINOv2-shaped backbone (for demos and tests; not a trained model)", runInitBackbone)
}

func runInitBackbone(args []string) error {
	fs := newFlagSet("init-backbone", "-o FILE [--seed N] [--width 384] [--depth 12] [--heads 6] [--patch 14] [--grid 37]")
	out := fs.String("o", "", "output `file` (safetensors, Hugging Face DINOv2 names)")
	seed := fs.Uint64("seed", 0, "random seed: the file is a function of the seed and the shape")
	width := fs.Int("width", 384, "feature width C (384 for ViT-S/14)")
	depth := fs.Int("depth", 12, "number of transformer blocks")
	heads := fs.Int("heads", 6, "attention heads")
	patch := fs.Int("patch", 14, "patch size in pixels")
	grid := fs.Int("grid", 37, "side of the position-embedding grid (37 for the official models)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *out == "":
		return usageErrorf("-o FILE is required")
	case fs.NArg() > 0:
		return usageErrorf("unexpected arguments %q", fs.Args())
	case *width < 1 || *width > 4096 || *heads < 1 || *width%*heads != 0:
		return usageErrorf("--width %d must be in [1, 4096] and a multiple of --heads %d", *width, *heads)
	case *depth < 1 || *depth > 64 || *patch < 1 || *patch > 64 || *grid < 1 || *grid > 256:
		return usageErrorf("--depth (1–64), --patch (1–64) or --grid (1–256) out of range")
	}
	ts := randomBackbone(*width, *depth, *patch, *grid, *seed)
	meta := map[string]string{"num_attention_heads": strconv.Itoa(*heads), "random_init_seed": strconv.FormatUint(*seed, 10),
		"note": "seeded random initialisation, not a trained DINOv2"}
	if err := weights.WriteSafetensors(*out, ts, meta); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: RANDOM (untrained) backbone, C = %d, depth %d, %d heads, patch %d, seed %d\n",
		*out, *width, *depth, *heads, *patch, *seed)
	return nil
}

// randomBackbone initialises a DINOv2 ViT the way its training starts: Linear and
// patch weights and the position embedding truncated normal (std 0.02, cut at ±2σ),
// the CLS token N(0, 1e-6²), biases 0, LayerNorms 1/0, LayerScale 1e-5.
func randomBackbone(c, depth, patch, grid int, seed uint64) map[string]*tensor.Dense {
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
