package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/ideal-fsad/ideal/model/convert"
	"github.com/ideal-fsad/ideal/weights"
)

func init() {
	register("convert", "convert a backbone or head (.pth state dict, TorchScript trace, safetensors) to safetensors", runConvert)
}

func runConvert(args []string) error {
	fs := newFlagSet("convert", "IN -o OUT.safetensors [--part backbone|head] [--prefix P] [--heads N]")
	out := fs.String("o", "", "output `file` (safetensors)")
	part := fs.String("part", "", "what to take from IN: backbone or head (default: the one IN holds)")
	prefix := fs.String("prefix", "", "name `prefix` of the part inside IN (default: detected, e.g. inner.vision_encoder. in the authors' traced model)")
	heads := fs.Int("heads", 0, "attention heads of the backbone (default: IN's metadata, else width/64)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *heads < 0 {
		return usageErrorf("--heads %d: want 0 (from the metadata) or a positive count", *heads)
	}
	if len(pos) != 1 {
		return usageErrorf("want one input file, got %d arguments %q", len(pos), pos)
	}
	if *out == "" {
		return usageErrorf("-o OUT.safetensors is required")
	}
	if *part != "" && *part != "backbone" && *part != "head" {
		return usageErrorf("--part %q: want backbone or head", *part)
	}
	in := pos[0]
	f, err := weights.Load(in)
	if err != nil {
		return err
	}
	r, err := convert.File(f, in, convert.Options{Part: *part, Prefix: *prefix, Heads: *heads})
	if errors.Is(err, convert.ErrBothParts) {
		return fmt.Errorf("%s: %w", in, usageErrorf("the file holds both a backbone and a head: choose --part backbone or --part head"))
	}
	if err != nil {
		return err
	}
	if err := r.Write(*out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: %s\n", *out, r.Summary)
	return nil
}
