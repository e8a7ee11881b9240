package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/weights"
)

func init() {
	register("convert", "convert a backbone or head (.pth state dict, TorchScript trace, safetensors) to safetensors", runConvert)
}

// backbonePatchNames end the patch-embedding weight's name in the two DINOv2 namings;
// a file holds a backbone when one of them appears.
var backbonePatchNames = []string{"patch_embed.proj.weight", "embeddings.patch_embeddings.projection.weight"}

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
	if *part == "" {
		if *part, err = detectPart(f); err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
	}
	md := map[string]string{
		"part":           *part,
		"converted_from": filepath.Base(in),
		"source_format":  sourceFormat(f),
	}
	if *part == "backbone" {
		return convertBackbone(f, in, *out, *prefix, *heads, md)
	}
	return convertHead(f, in, *out, *prefix, md)
}

// detectPart says whether f holds a backbone or a head, refusing files with both or neither.
func detectPart(f *weights.File) (string, error) {
	backbone := false
	for name := range f.Tensors {
		for _, p := range backbonePatchNames {
			if strings.HasSuffix(name, p) {
				backbone = true
			}
		}
	}
	_, headErr := f.FindPrefix(head.NameVectors)
	switch {
	case backbone && headErr == nil:
		return "", usageErrorf("the file holds both a backbone and a head: choose --part backbone or --part head")
	case backbone:
		return "backbone", nil
	case headErr == nil:
		return "head", nil
	}
	return "", fmt.Errorf("the file holds neither a DINOv2 backbone (no *%s) nor an IDEAL head (no *%s)", backbonePatchNames[0], head.NameVectors)
}

// sourceFormat names the kind of file f was read from.
func sourceFormat(f *weights.File) string {
	if s := f.Metadata["format"]; s == "pth" || s == "torchscript" {
		return s
	}
	return "safetensors"
}

// convertBackbone checks the backbone fully (names, shapes, finite values) by building
// the model, then writes its tensors with the prefix removed, under their own naming
// (torch-hub or Hugging Face; dinov2 reads both), and the architecture in the metadata.
func convertBackbone(f *weights.File, in, out, prefix string, heads int, md map[string]string) error {
	m, err := dinov2.FromFile(f, dinov2.Options{Prefix: prefix, Heads: heads})
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	c := m.Config
	sub := f.SubTree(c.Prefix)
	md["naming"] = c.Naming
	md["source_prefix"] = c.Prefix
	md["num_attention_heads"] = strconv.Itoa(c.Heads)
	md["hidden_size"] = strconv.Itoa(c.Width)
	md["num_hidden_layers"] = strconv.Itoa(c.Depth)
	md["patch_size"] = strconv.Itoa(c.Patch)
	md["num_register_tokens"] = strconv.Itoa(c.Registers)
	if err := weights.WriteSafetensors(out, sub.Tensors, md); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: DINOv2 backbone, %d tensors (%s names%s), C = %d, %d blocks, %d heads, patch %d, position grid %d×%d\n",
		out, len(sub.Tensors), c.Naming, prefixNote(c.Prefix), c.Width, c.Depth, c.Heads, c.Patch, c.PosGrid, c.PosGrid)
	return nil
}

// convertHead checks and takes the head's parameters (official names, exact shapes) and
// writes them with its hyper-parameters: those of IN's metadata, else the defaults.
func convertHead(f *weights.File, in, out, prefix string, md map[string]string) error {
	if prefix == "" {
		p, err := f.FindPrefix(head.NameVectors)
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		prefix = p
	}
	w, err := head.FromFile(f, prefix)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	for k, v := range w.Metadata() {
		md[k] = v
	}
	md["source_prefix"] = prefix
	if err := weights.WriteSafetensors(out, w.Tensors, md); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s: IDEAL head, %d tensors (official names%s), M = %d, C = %d, %d heads, top-k %d, top-r %d, α %g\n",
		out, len(w.Tensors), prefixNote(prefix), w.M(), w.C(), w.Heads, w.TopK, w.TopR, w.Alpha)
	return nil
}

// prefixNote tells, for the summary line, which name prefix was removed.
func prefixNote(prefix string) string {
	if prefix == "" {
		return ""
	}
	return fmt.Sprintf(", prefix %q removed", prefix)
}
