package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/weights"
)

// maxInitBackboneParams bounds the transformer blocks' parameters (12·C²·depth) of a
// random backbone: ViT-L/14 (302 M) fits, a mistyped size does not allocate gigabytes.
const maxInitBackboneParams = 400_000_000

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
	if err := parseFlags(fs, args); err != nil {
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
	case 12*int64(*width)*int64(*width)*int64(*depth) > maxInitBackboneParams:
		return usageErrorf("--width %d with --depth %d makes about %d million parameters, more than the %d million allowed (ViT-L/14 has 300)",
			*width, *depth, 12*int64(*width)*int64(*width)*int64(*depth)/1_000_000, maxInitBackboneParams/1_000_000)
	}
	ts := dinov2.RandomWeights(*width, *depth, *patch, *grid, *seed)
	meta := map[string]string{"num_attention_heads": strconv.Itoa(*heads), "random_init_seed": strconv.FormatUint(*seed, 10),
		"note": "seeded random initialisation, not a trained DINOv2"}
	if err := weights.WriteSafetensors(*out, ts, meta); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: RANDOM (untrained) backbone, C = %d, depth %d, %d heads, patch %d, seed %d\n",
		*out, *width, *depth, *heads, *patch, *seed)
	return nil
}
