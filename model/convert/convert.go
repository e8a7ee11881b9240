// Package convert turns a DINOv2 backbone or an IDEAL head, from any file weights.Load
// reads (a .pth state dict, a TorchScript trace, safetensors), into this module's
// safetensors form ('ideal convert'): the part's tensors alone, under their own names
// (the name prefix of the part inside the file removed), checked fully by building the
// model, with the architecture or hyper-parameters in the metadata.
package convert

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

// The parts a file may hold.
const (
	Backbone = "backbone"
	Head     = "head"
)

// backbonePatchNames end the patch-embedding weight's name in the two DINOv2 namings;
// a file holds a backbone when one of them appears.
var backbonePatchNames = []string{"patch_embed.proj.weight", "embeddings.patch_embeddings.projection.weight"}

// ErrBothParts is Part's error for a file holding both a backbone and a head.
var ErrBothParts = errors.New("the file holds both a backbone and a head")

// Part says whether f holds a backbone or a head, refusing files with both
// (ErrBothParts) or neither.
func Part(f *weights.File) (string, error) {
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
		return "", ErrBothParts
	case backbone:
		return Backbone, nil
	case headErr == nil:
		return Head, nil
	}
	return "", fmt.Errorf("the file holds neither a DINOv2 backbone (no *%s) nor an IDEAL head (no *%s)", backbonePatchNames[0], head.NameVectors)
}

// Options say what to take from the file.
type Options struct {
	Part   string // Backbone, Head, or "": the one the file holds (Part)
	Prefix string // the part's name prefix inside the file; "": detected
	Heads  int    // the backbone's attention heads; 0: the file's metadata, else width/64
}

// Result is a converted part.
type Result struct {
	Part     string
	Tensors  map[string]*tensor.Dense
	Metadata map[string]string
	Summary  string // one line on what it is, e.g. "DINOv2 backbone, 154 tensors (...), C = 384, ..."
}

// Write writes the result as a safetensors file.
func (r *Result) Write(path string) error {
	return weights.WriteSafetensors(path, r.Tensors, r.Metadata)
}

// File converts the part of f, read from the file at path in (named in the errors and
// the metadata), that opt says.
func File(f *weights.File, in string, opt Options) (*Result, error) {
	part := opt.Part
	if part == "" {
		var err error
		if part, err = Part(f); err != nil {
			return nil, fmt.Errorf("%s: %w", in, err)
		}
	}
	md := map[string]string{
		"part":           part,
		"converted_from": filepath.Base(in),
		"source_format":  sourceFormat(f),
	}
	var r *Result
	var err error
	switch part {
	case Backbone:
		r, err = backbone(f, opt.Prefix, opt.Heads, md)
	case Head:
		r, err = ideHead(f, opt.Prefix, md)
	default:
		err = fmt.Errorf("part %q: want %s or %s", part, Backbone, Head)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", in, err)
	}
	return r, nil
}

// sourceFormat names the kind of file f was read from.
func sourceFormat(f *weights.File) string {
	if s := f.Metadata["format"]; s == "pth" || s == "torchscript" {
		return s
	}
	return "safetensors"
}

// backbone checks the backbone fully (names, shapes, finite values) by building the
// model and takes its tensors with the prefix removed, under their own naming
// (torch-hub or Hugging Face; dinov2 reads both), and the architecture in md.
func backbone(f *weights.File, prefix string, heads int, md map[string]string) (*Result, error) {
	m, err := dinov2.FromFile(f, dinov2.Options{Prefix: prefix, Heads: heads})
	if err != nil {
		return nil, err
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
	return &Result{Part: Backbone, Tensors: sub.Tensors, Metadata: md,
		Summary: fmt.Sprintf("DINOv2 backbone, %d tensors (%s names%s), C = %d, %d blocks, %d heads, patch %d, position grid %d×%d",
			len(sub.Tensors), c.Naming, prefixNote(c.Prefix), c.Width, c.Depth, c.Heads, c.Patch, c.PosGrid, c.PosGrid)}, nil
}

// ideHead checks and takes the head's parameters (official names, exact shapes) with
// its hyper-parameters in md: those of the file's metadata, else the defaults.
func ideHead(f *weights.File, prefix string, md map[string]string) (*Result, error) {
	if prefix == "" {
		p, err := f.FindPrefix(head.NameVectors)
		if err != nil {
			return nil, err
		}
		prefix = p
	}
	w, err := head.FromFile(f, prefix)
	if err != nil {
		return nil, err
	}
	for k, v := range w.Metadata() {
		md[k] = v
	}
	md["source_prefix"] = prefix
	return &Result{Part: Head, Tensors: w.Tensors, Metadata: md,
		Summary: fmt.Sprintf("IDEAL head, %d tensors (official names%s), M = %d, C = %d, %d heads, top-k %d, top-r %d, α %g",
			len(w.Tensors), prefixNote(prefix), w.M(), w.C(), w.Heads, w.TopK, w.TopR, w.Alpha)}, nil
}

// prefixNote tells, for the summary line, which name prefix was removed.
func prefixNote(prefix string) string {
	if prefix == "" {
		return ""
	}
	return fmt.Sprintf(", prefix %q removed", prefix)
}
