package main

import (
	"fmt"
	"os"

	"github.com/ideal-fsad/ideal/model/head"
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return usageErrorf("-o FILE is required")
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
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
