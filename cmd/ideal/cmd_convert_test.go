package main

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

// officialCheckpoints is ../shared/fixtures/official-checkpoints beside the repository
// (two levels above this package); the test is skipped when it is absent.
func officialCheckpoints(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "fixtures", "official-checkpoints")
	if _, err := os.Stat(filepath.Join(dir, "README.json")); err != nil {
		t.Skipf("official checkpoints not found at %s (they live outside the repository, in ../shared): %v", dir, err)
	}
	return dir
}

func sameBits(t *testing.T, got, want map[string]*tensor.Dense) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d tensors, want %d", len(got), len(want))
	}
	for name, w := range want {
		g := got[name]
		if g == nil || !tensor.SameShape(g.Shape, w.Shape) {
			t.Errorf("tensor %q missing or of another shape", name)
			continue
		}
		for i := range w.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(w.Data[i]) {
				t.Errorf("%s[%d] = %v, want %v", name, i, g.Data[i], w.Data[i])
				break
			}
		}
	}
}

func TestConvertTraceParts(t *testing.T) {
	dir := officialCheckpoints(t)
	out := t.TempDir()
	trace := filepath.Join(dir, "trace_tiny.pt")

	bb := filepath.Join(out, "backbone.safetensors")
	if err := runConvert([]string{trace, "-o", bb, "--part", "backbone"}); err != nil {
		t.Fatal(err)
	}
	got, err := weights.ReadSafetensors(bb)
	if err != nil {
		t.Fatal(err)
	}
	hub, err := weights.ReadPth(filepath.Join(dir, "hub_state_dict_vits_1block.pth"))
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, got.Tensors, hub.Tensors)
	for k, v := range map[string]string{"part": "backbone", "source_prefix": "inner.vision_encoder.", "naming": "torch-hub",
		"num_attention_heads": "6", "num_hidden_layers": "1", "source_format": "torchscript", "converted_from": "trace_tiny.pt"} {
		if got.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, got.Metadata[k], v)
		}
	}
	if m, err := dinov2.Load(bb, dinov2.Options{}); err != nil || m.Heads != 6 || m.Depth != 1 || m.Width != 384 {
		t.Errorf("converted backbone does not load back: %v", err)
	}

	hd := filepath.Join(out, "head.safetensors")
	if err := runConvert([]string{"--part", "head", trace, "-o", hd}); err != nil {
		t.Fatal(err)
	}
	gotHead, err := weights.ReadSafetensors(hd)
	if err != nil {
		t.Fatal(err)
	}
	want, err := weights.ReadSafetensors(filepath.Join("..", "..", "testdata", "fixtures", "ideal-head-g8", "head.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, gotHead.Tensors, want.Tensors)
	for k, v := range want.Metadata { // the hyper-parameters: defaults, as in the fixture
		if gotHead.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, gotHead.Metadata[k], v)
		}
	}
	if gotHead.Metadata["source_prefix"] != "inner." {
		t.Errorf("source_prefix %q", gotHead.Metadata["source_prefix"])
	}

	err = runConvert([]string{trace, "-o", filepath.Join(out, "x.safetensors")})
	if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "both a backbone and a head") {
		t.Errorf("trace without --part: %v", err)
	}
}

func TestConvertDetectsPart(t *testing.T) {
	dir := officialCheckpoints(t)
	out := t.TempDir()
	for file, part := range map[string]string{"head_official.pth": "head", "hub_state_dict_vits_1block.pth": "backbone"} {
		o := filepath.Join(out, part+".safetensors")
		if err := runConvert([]string{filepath.Join(dir, file), "-o", o}); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		f, err := weights.ReadSafetensors(o)
		if err != nil {
			t.Fatal(err)
		}
		if f.Metadata["part"] != part || f.Metadata["source_format"] != "pth" || f.Metadata["source_prefix"] != "" {
			t.Errorf("%s: metadata %v", file, f.Metadata)
		}
	}
}

func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.pth")
	if err := os.WriteFile(text, []byte("not weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	noParts := filepath.Join(dir, "other.safetensors")
	if err := weights.WriteSafetensors(noParts, map[string]*tensor.Dense{"x": tensor.New(2)}, nil); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.safetensors")
	for _, c := range []struct {
		args  []string
		usage bool
		want  string
	}{
		{[]string{text}, true, "-o"},
		{[]string{"-o", out}, true, "one input file"},
		{[]string{text, text, "-o", out}, true, "one input file"},
		{[]string{text, "-o", out, "--part", "neck"}, true, "backbone or head"},
		{[]string{filepath.Join(dir, "missing.pth"), "-o", out}, false, "no such file"},
		{[]string{text, "-o", out}, false, "unknown format"},
		{[]string{noParts, "-o", out}, false, "neither a DINOv2 backbone"},
		{[]string{noParts, "-o", out, "--part", "head"}, false, "learnable_vectors.weight"},
		{[]string{noParts, "-o", out, "--part", "backbone"}, false, "not a DINOv2 backbone"},
	} {
		err := runConvert(c.args)
		if err == nil || errors.Is(err, errUsage) != c.usage || !strings.Contains(err.Error(), c.want) {
			t.Errorf("convert %q: error %v, want one mentioning %q (usage error: %v)", c.args, err, c.want, c.usage)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed conversion left %s behind", out)
	}
}

// The backbone and head converted from the authors' traced model reproduce the trace's
// own outputs on the inputs recorded beside it (already-normalised 112×112 images):
// image_level_logits = [1 − s, s] and pixel_level_logits = [s_n; s_a] up-sampled.
func TestConvertedTraceReproducesItsOutputs(t *testing.T) {
	dir := officialCheckpoints(t)
	out := t.TempDir()
	trace := filepath.Join(dir, "trace_tiny.pt")
	bbPath, hdPath := filepath.Join(out, "backbone.safetensors"), filepath.Join(out, "head.safetensors")
	for part, o := range map[string]string{"backbone": bbPath, "head": hdPath} {
		if err := runConvert([]string{trace, "--part", part, "-o", o}); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := weights.ReadSafetensors(filepath.Join(dir, "trace_tiny_io.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	bb, err := dinov2.Load(bbPath, dinov2.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hw, err := head.Load(hdPath, "")
	if err != nil {
		t.Fatal(err)
	}
	be := kernels.NewReference()
	feats := map[string]*tensor.Dense{}
	for _, name := range []string{"query", "normal", "abnormal"} {
		img := rec.Tensors[name+"_image"]
		if !tensor.SameShape(img.Shape, []int{3, 112, 112}) {
			t.Fatalf("%s_image has shape %v", name, img.Shape)
		}
		if feats[name], err = bb.Features(be, img.Data, 112); err != nil {
			t.Fatal(err)
		}
	}
	m := imaging.NewMask(112, 112)
	for i, v := range rec.Tensors["abnormal_mask"].Data {
		m.Pix[i] = v > 0
	}
	hm := head.New(be, hw)
	defer hm.Close()
	ep, err := hm.NewEpisode([]*tensor.Dense{feats["normal"]}, []head.Abnormal{{Features: feats["abnormal"], Mask: imaging.PatchMask(m, 14)}})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	res, err := ep.Score(feats["query"])
	if err != nil {
		t.Fatal(err)
	}
	il, pl := res.ImageLogits(), res.PixelLogits(112)
	for _, c := range []struct {
		name string
		got  []float32
	}{
		{"image_level_logits", il[:]},
		{"pixel_level_logits", append(append([]float32(nil), pl[0]...), pl[1]...)},
	} {
		want := rec.Tensors[c.name].Data
		if len(c.got) != len(want) {
			t.Fatalf("%s: %d values, want %d", c.name, len(c.got), len(want))
		}
		var worst float64
		for i := range want {
			worst = max(worst, math.Abs(float64(c.got[i])-float64(want[i])))
		}
		t.Logf("%s: max abs difference %.3g", c.name, worst)
		if worst > 1e-4 {
			t.Errorf("%s: max abs difference %.3g > 1e-4", c.name, worst)
		}
	}
}
