package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

const tinyDir = "../../testdata/fixtures/dinov2-tiny/"

func readST(t *testing.T, path string) *weights.File {
	t.Helper()
	f, err := weights.ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// checkFixtureFeatures compares a features tensor with the official model's output:
// max abs error ≤ 1e-3 and every patch cosine ≥ 0.9999.
func checkFixtureFeatures(t *testing.T, got *tensor.Dense) {
	t.Helper()
	want := readST(t, tinyDir+"expected.safetensors").Tensors["features"]
	if !tensor.SameShape(got.Shape, want.Shape) {
		t.Fatalf("features shape %v, want %v", got.Shape, want.Shape)
	}
	var maxErr float64
	worst := 1.0
	for i := range want.Rows() {
		g, w := got.Row(i), want.Row(i)
		var dot, gg, ww float64
		for j := range w {
			maxErr = math.Max(maxErr, math.Abs(float64(g[j]-w[j])))
			dot, gg, ww = dot+float64(g[j]*w[j]), gg+float64(g[j]*g[j]), ww+float64(w[j]*w[j])
		}
		worst = math.Min(worst, dot/math.Sqrt(gg*ww))
	}
	t.Logf("features vs official: max abs error %.3g, lowest patch cosine %.7f", maxErr, worst)
	if maxErr > 1e-3 || worst < 0.9999 {
		t.Errorf("features differ from the official model: max abs error %.3g, lowest cosine %.7f", maxErr, worst)
	}
}

func TestFeaturesFixture(t *testing.T) {
	out := filepath.Join(t.TempDir(), "f.safetensors")
	// The command of issue 2's Done-when, default (cpu) backend; the heads come from
	// the config.json beside the weights.
	if code := run([]string{"features", "--backbone", tinyDir + "weights.safetensors", "--size", "98",
		tinyDir + "input.png", "-o", out}); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	f := readST(t, out)
	checkFixtureFeatures(t, f.Tensors["features"])
	for k, v := range map[string]string{"size": "98", "grid": "7", "width": "48", "image": "input.png", "backbone": "weights.safetensors", "patch": "14"} {
		if f.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, f.Metadata[k], v)
		}
	}
	if !strings.HasPrefix(f.Metadata["backend"], "cpu") {
		t.Errorf("metadata backend = %q, want the cpu default", f.Metadata["backend"])
	}
	if len(f.Metadata["backbone_sha256"]) != 64 {
		t.Errorf("backbone_sha256 = %q", f.Metadata["backbone_sha256"])
	}
}

// Several images go to a folder, one file each, named after the image.
func TestFeaturesFolder(t *testing.T) {
	dir := t.TempDir()
	png, err := os.ReadFile(tinyDir + "input.png")
	if err != nil {
		t.Fatal(err)
	}
	second := filepath.Join(dir, "second.png")
	if err := os.WriteFile(second, png, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	if err := runFeatures([]string{"--backbone", tinyDir + "weights.safetensors", "--heads", "3", "--size", "98", "--backend", "reference",
		"-o", out, tinyDir + "input.png", second}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"input.safetensors", "second.safetensors"} {
		checkFixtureFeatures(t, readST(t, filepath.Join(out, name)).Tensors["features"])
	}
	// One image with -o naming an existing folder goes into that folder.
	if err := runFeatures([]string{"--backbone", tinyDir + "weights.safetensors", "--size", "98", "-o", dir, second}); err != nil {
		t.Fatal(err)
	}
	checkFixtureFeatures(t, readST(t, filepath.Join(dir, "second.safetensors")).Tensors["features"])
	if err := runFeatures([]string{"--backbone", tinyDir + "weights.safetensors", "--size", "98",
		"-o", out, tinyDir + "input.png", filepath.Join(dir, "input.png")}); err == nil || !strings.Contains(err.Error(), "both") {
		t.Errorf("two images with one name: error %v", err)
	}
}

func TestFeaturesBadInput(t *testing.T) {
	dir := t.TempDir()
	png, err := os.ReadFile(tinyDir + "input.png")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	truncated := write("truncated.png", png[:len(png)/2])
	text := write("text.png", []byte("this is not an image\n"))
	badWeights := func(name string, edit func(map[string]*tensor.Dense)) string {
		f := readST(t, tinyDir+"weights.safetensors")
		edit(f.Tensors)
		p := filepath.Join(dir, name)
		if err := weights.WriteSafetensors(p, f.Tensors, nil); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := badWeights("missing.safetensors", func(m map[string]*tensor.Dense) { delete(m, "encoder.layer.0.norm2.bias") })
	shape := badWeights("shape.safetensors", func(m map[string]*tensor.Dense) { m["layernorm.weight"] = tensor.New(47) })
	notST := write("weights.safetensors", []byte("not safetensors"))
	good := tinyDir + "weights.safetensors"
	for _, tc := range []struct {
		name   string
		args   []string
		substr string
	}{
		{"truncated png", []string{"--backbone", good, "--size", "98", truncated}, "truncated.png"},
		{"text as png", []string{"--backbone", good, "--size", "98", text}, "text.png"},
		{"missing image", []string{"--backbone", good, "--size", "98", filepath.Join(dir, "nope.png")}, "nope.png"},
		{"missing tensor", []string{"--backbone", missing, "--heads", "3", "--size", "98", tinyDir + "input.png"}, `"encoder.layer.0.norm2.bias"`},
		{"wrong shape", []string{"--backbone", shape, "--heads", "3", "--size", "98", tinyDir + "input.png"}, "[47], want [48]"},
		{"not safetensors", []string{"--backbone", notST, "--heads", "3", tinyDir + "input.png"}, "safetensors"},
		{"size 100", []string{"--backbone", good, "--size", "100", tinyDir + "input.png"}, "multiple of the patch size"},
		{"no heads", []string{"--backbone", missing, "--size", "98", tinyDir + "input.png"}, "heads"},
		{"bad backend", []string{"--backbone", good, "--size", "98", "--backend", "abacus", tinyDir + "input.png"}, "abacus"},
		{"no backbone", []string{tinyDir + "input.png"}, "--backbone"},
		{"no image", []string{"--backbone", good}, "no images"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "_")+".safetensors")
			args := append(append([]string{"--backend", "reference"}, tc.args...), "-o", out)
			err := runFeatures(args)
			if err == nil || !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("error %v, want one mentioning %q", err, tc.substr)
			}
			if _, statErr := os.Stat(out); statErr == nil {
				t.Errorf("an output was written despite the error")
			}
		})
	}
}
