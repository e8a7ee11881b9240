package imaging

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/weights"
)

// TestPreprocessMatchesDINOv2Fixture compares the model input with the one the
// official pipeline (PIL bicubic resize, ToTensor, Normalize) produced for the fixture.
func TestPreprocessMatchesDINOv2Fixture(t *testing.T) {
	dir := filepath.Join("..", "testdata", "fixtures", "dinov2-tiny")
	exp, err := weights.ReadSafetensors(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	want := exp.Tensors["pixels"]
	if want == nil {
		t.Fatal("fixture has no pixels tensor")
	}
	const size = 98
	if n := 3 * size * size; len(want.Data) != n {
		t.Fatalf("fixture pixels has %d values (shape %v), want %d", len(want.Data), want.Shape, n)
	}
	got, w, h, err := Preprocess(filepath.Join(dir, "input.png"), size)
	if err != nil {
		t.Fatal(err)
	}
	if w != 211 || h != 150 {
		t.Errorf("original size %d×%d, want 211×150", w, h)
	}
	n := size * size
	var exact, within int
	var maxErr float64
	for i := range got {
		c := i / n
		// Undo the normalisation to compare in units of 8-bit levels.
		g := (float64(got[i])*float64(Std[c]) + float64(Mean[c])) * 255
		e := (float64(want.Data[i])*float64(Std[c]) + float64(Mean[c])) * 255
		d := math.Abs(g - e)
		maxErr = max(maxErr, d)
		if got[i] == want.Data[i] {
			exact++
		}
		if d <= 1+1e-3 {
			within++
		}
	}
	t.Logf("%d/%d values bit-identical (%.4f%%), max error %.4f levels", exact, len(got), 100*float64(exact)/float64(len(got)), maxErr)
	if frac := float64(within) / float64(len(got)); frac < 0.999 {
		t.Errorf("only %.4f%% of values within 1/255", 100*frac)
	}
	if exact != len(got) {
		t.Errorf("%d values differ from the fixture; PIL's resize is deterministic, so all should match", len(got)-exact)
	}
}

func TestNormalizeLayout(t *testing.T) {
	img := NewRGB(2, 1)
	copy(img.Pix, []uint8{0, 128, 255, 255, 0, 51})
	got := Normalize(img)
	// CHW: R plane (0, 255), G plane (128, 0), B plane (255, 51).
	vals := []uint8{0, 255, 128, 0, 255, 51}
	for i, v := range vals {
		c := i / 2
		want := (float32(v)/255 - Mean[c]) / Std[c]
		if got[i] != want {
			t.Errorf("value %d: %g, want %g", i, got[i], want)
		}
	}
	if math.Abs(float64(got[0])+0.485/0.229) > 1e-6 {
		t.Errorf("black red channel %g, want %g", got[0], -0.485/0.229)
	}
}

func TestPreprocessErrors(t *testing.T) {
	if _, _, _, err := Preprocess(filepath.Join(t.TempDir(), "none.png"), 98); err == nil || !strings.HasPrefix(err.Error(), "imaging: ") {
		t.Errorf("missing file: %v", err)
	}
	if _, _, _, err := Preprocess(filepath.Join("testdata", "decode", "rgb.png"), 0); err == nil || !strings.Contains(err.Error(), "positive") {
		t.Errorf("size 0: %v", err)
	}
}
