package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/featcache"
	"github.com/ideal-fsad/ideal/internal/cli"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

func init() {
	register("features", "DINOv2 patch features of images, as safetensors", runFeatures)
}

const featuresUsage = "--backbone FILE [--size S] [--backend NAME] [--heads H] IMAGE... -o OUT"

// featuresOptions are the parsed flags of ideal features.
type featuresOptions struct {
	backbone, backend, prefix, out string
	size, heads                    int
	images                         []string
}

func parseFeaturesFlags(args []string) (featuresOptions, error) {
	fs := newFlagSet("features", featuresUsage)
	var o featuresOptions
	fs.StringVar(&o.backbone, "backbone", "", "DINOv2 weights: safetensors, .pth state dict or TorchScript, Hugging Face or torch-hub names")
	fs.IntVar(&o.size, "size", 448, "input side S in pixels, a multiple of the patch size (14)")
	fs.StringVar(&o.backend, "backend", "cpu", "compute backend: "+backendNames)
	fs.IntVar(&o.heads, "heads", 0, "attention heads (0: from the weights' metadata, a config.json beside them, or width/64)")
	fs.StringVar(&o.prefix, "prefix", "", "tensor name prefix of the backbone inside the file (default: detected)")
	fs.StringVar(&o.out, "o", "", "output: a .safetensors file for one image, a folder (one <name>.safetensors per image) for several")
	var err error
	if o.images, err = parseInterspersed(fs, args); err != nil {
		return o, err
	}
	switch {
	case o.backbone == "":
		return o, usageErrorf("--backbone is required")
	case o.out == "":
		return o, usageErrorf("-o is required")
	case len(o.images) == 0:
		return o, usageErrorf("no images given")
	case o.heads < 0:
		return o, usageErrorf("--heads %d: want 0 (from the weights) or a positive count", o.heads)
	}
	return o, nil
}

// runFeatures computes each image's features through the pipeline's feature source
// (ideal.Detector.Features) and writes them with the metadata of an ideal-features
// file (dinov2.ReadFeaturesFile reads it back).
func runFeatures(args []string) error {
	o, err := parseFeaturesFlags(args)
	if err != nil {
		return err
	}
	outPaths, err := featureOutputs(o.images, o.out)
	if err != nil {
		return err
	}
	b, err := openBackend(o.backend)
	if err != nil {
		return err
	}
	defer b.Close()
	if o.size <= 0 {
		return usageErrorf("--size %d must be positive", o.size)
	}
	det, err := ideal.New(ideal.Options{Backbone: o.backbone, BackboneHeads: o.heads, BackbonePrefix: o.prefix, Size: o.size, Backend: b})
	if err != nil {
		return err
	}
	defer det.Close()
	model, err := det.Backbone() // loaded now: a --size it cannot take is a usage error before any image is read
	if errors.Is(err, ideal.ErrBadOption) {
		return usageErrorf("--size: %v", err)
	} else if err != nil {
		return err
	}
	hash, err := featcache.BackboneID(o.backbone)
	if err != nil {
		return err
	}
	md := map[string]string{"format": "ideal-features", "patch": strconv.Itoa(model.Patch), "size": strconv.Itoa(o.size),
		"grid": strconv.Itoa(o.size / model.Patch), "width": strconv.Itoa(model.Width),
		"backbone": filepath.Base(o.backbone), "backbone_sha256": hash, "backend": b.Name()}
	var bar *progressbar.ProgressBar
	if len(o.images) > 1 {
		bar = newBar(len(o.images), "features")
	}
	for i, img := range o.images {
		if err := writeFeatures(det, img, md, outPaths[i]); err != nil {
			return err
		}
		if bar != nil {
			bar.Add(1)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	return nil
}

// writeFeatures computes one image's features and writes them to out, with the
// metadata md and the image's own.
func writeFeatures(det *ideal.Detector, img string, md map[string]string, out string) error {
	f, err := det.Features(context.Background(), ideal.File(img))
	if err != nil {
		return err
	}
	md["image"], md["image_width"], md["image_height"] = filepath.Base(img), strconv.Itoa(f.W), strconv.Itoa(f.H)
	return weights.WriteSafetensors(out, map[string]*tensor.Dense{"features": f.Patches}, md)
}

// featureOutputs maps each image to its output file: out itself for one image (unless
// out is an existing folder), else out/<base name>.safetensors, the folder created.
func featureOutputs(images []string, out string) ([]string, error) {
	if st, err := os.Stat(out); len(images) == 1 && (err != nil || !st.IsDir()) {
		return []string{out}, nil
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, fmt.Errorf("-o: %w", err)
	}
	paths := make([]string, len(images))
	seen := map[string]string{}
	for i, img := range images {
		name := strings.TrimSuffix(filepath.Base(img), filepath.Ext(img)) + ".safetensors"
		if prev, dup := seen[name]; dup {
			return nil, usageErrorf("%s and %s would both be written to %s", prev, img, filepath.Join(out, name))
		}
		seen[name] = img
		paths[i] = filepath.Join(out, name)
	}
	return paths, nil
}

// parseInterspersed parses flags that may follow positional arguments (cli.Interspersed)
// and returns the positional arguments; errors as flagError says.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := cli.Interspersed(fs, args)
	return pos, flagError(err)
}
