package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/internal/cli"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

func init() {
	register("features", "DINOv2 patch features of images, as safetensors", runFeatures)
}

const featuresUsage = "--backbone FILE [--size S] [--backend NAME] [--heads H] IMAGE... -o OUT"

func runFeatures(args []string) error {
	fs := newFlagSet("features", featuresUsage)
	backbone := fs.String("backbone", "", "DINOv2 weights: safetensors, .pth state dict or TorchScript, Hugging Face or torch-hub names")
	size := fs.Int("size", 448, "input side S in pixels, a multiple of the patch size (14)")
	backendName := fs.String("backend", "cpu", "compute backend: "+backendNames)
	heads := fs.Int("heads", 0, "attention heads (0: from the weights' metadata, a config.json beside them, or width/64)")
	prefix := fs.String("prefix", "", "tensor name prefix of the backbone inside the file (default: detected)")
	out := fs.String("o", "", "output: a .safetensors file for one image, a folder (one <name>.safetensors per image) for several")
	images, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *backbone == "":
		return usageErrorf("--backbone is required")
	case *out == "":
		return usageErrorf("-o is required")
	case len(images) == 0:
		return usageErrorf("no images given")
	case *heads < 0:
		return usageErrorf("--heads %d: want 0 (from the weights) or a positive count", *heads)
	}
	outPaths, err := featureOutputs(images, *out)
	if err != nil {
		return err
	}
	model, err := loadBackbone(*backbone, *size, dinov2.Options{Heads: *heads, Prefix: *prefix})
	if err != nil {
		return err
	}
	hash, err := fileSHA256(*backbone)
	if err != nil {
		return err
	}
	b, err := openBackend(*backendName)
	if err != nil {
		return err
	}
	defer b.Close()

	var bar *progressbar.ProgressBar
	if len(images) > 1 {
		bar = progressbar.NewOptions(len(images), progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription("features"), progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
	}
	g := *size / model.Patch
	for i, img := range images {
		px, w, h, err := imaging.Preprocess(img, *size)
		if err != nil {
			return err
		}
		f, err := model.Features(b, px, *size)
		if err != nil {
			return fmt.Errorf("%s: %w", img, err)
		}
		md := map[string]string{
			"format":          "ideal-features",
			"image":           filepath.Base(img),
			"image_width":     strconv.Itoa(w),
			"image_height":    strconv.Itoa(h),
			"patch":           strconv.Itoa(model.Patch),
			"size":            strconv.Itoa(*size),
			"grid":            strconv.Itoa(g),
			"width":           strconv.Itoa(model.Width),
			"backbone":        filepath.Base(*backbone),
			"backbone_sha256": hash,
			"backend":         b.Name(),
		}
		if err := weights.WriteSafetensors(outPaths[i], map[string]*tensor.Dense{"features": f}, md); err != nil {
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

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// parseInterspersed parses flags that may follow positional arguments (cli.Interspersed)
// and returns the positional arguments; errors as flagError says.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := cli.Interspersed(fs, args)
	return pos, flagError(err)
}
