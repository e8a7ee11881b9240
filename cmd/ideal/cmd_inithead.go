package main

import (
	"fmt"
	"os"

	"github.com/ideal-fsad/ideal/model/head"
)

// Bounds of init-head's sizes: ViT-g/14 is 1536 wide and the paper uses M = 128 (spec
// §5); the bounds keep a mistyped value from allocating gigabytes.
const (
	maxHeadChannels = 4096
	maxHeadVectors  = 4096
)

func init() {
	register("init-head", "write a freshly initialised IDE head (safetensors)", runInitHead)
}

func runInitHead(args []string) error {
	fs := newFlagSet("init-head", "-o FILE [--channels C] [--vectors M] [--seed N]")
	out := fs.String("o", "", "output `file` (safetensors with the official parameter names)")
	channels := fs.Int("channels", 384, "feature width C of the backbone (384 for ViT-S/14)")
	vectors := fs.Int("vectors", head.DefaultVectors, "number M of learnable deviation vectors")
	seed := fs.Uint64("seed", 0, "random seed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageErrorf("-o FILE is required")
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	if *channels < 8 || *channels > maxHeadChannels || *channels%8 != 0 {
		return usageErrorf("--channels %d must be a multiple of 8 (the head's attention heads) in [8, %d]", *channels, maxHeadChannels)
	}
	if *vectors < 1 || *vectors > maxHeadVectors {
		return usageErrorf("--vectors %d must be in [1, %d]", *vectors, maxHeadVectors)
	}
	w, err := head.Init(*channels, *vectors, *seed)
	if err != nil {
		return err
	}
	if err := w.WriteFile(*out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: M = %d, C = %d, seed %d\n", *out, w.M(), w.C(), *seed)
	return nil
}
