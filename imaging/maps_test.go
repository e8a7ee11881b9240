package imaging

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/ideal-fsad/ideal/weights"
)

// TestGaussianBlurMatchesScipy compares GaussianBlur with scipy.ndimage.gaussian_filter
// (testdata/gen_fixtures.py), including a 5×3 map narrower than the kernel radius.
func TestGaussianBlurMatchesScipy(t *testing.T) {
	f, err := weights.ReadSafetensors(filepath.Join("testdata", "gaussian.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"map_40x31", "map_5x3", "map_64x64"} {
		in := f.Tensors[name]
		if in == nil || len(in.Shape) != 2 {
			t.Fatalf("fixture lacks %s", name)
		}
		h, w := in.Shape[0], in.Shape[1]
		for _, sigma := range []float64{4, 1.5} {
			want := f.Tensors[fmt.Sprintf("%s_sigma%g", name, sigma)]
			got := GaussianBlur(in.Data, w, h, sigma)
			exact, maxErr := 0, 0.0
			for i := range got {
				if got[i] == want.Data[i] {
					exact++
				}
				maxErr = max(maxErr, math.Abs(float64(got[i]-want.Data[i])))
			}
			t.Logf("%s σ=%g: %d/%d bit-identical, max error %.3g", name, sigma, exact, len(got), maxErr)
			if maxErr > 1e-6 {
				t.Errorf("%s σ=%g: max error %g", name, sigma, maxErr)
			}
		}
	}
}

func TestReflectIndex(t *testing.T) {
	// scipy "reflect" on n = 3: … 0 1 2 | 2 1 0 | 0 1 2 | 2 1 0 | 0 1 2 …
	want := map[int]int{-7: 0, -6: 0, -5: 1, -4: 2, -3: 2, -2: 1, -1: 0, 0: 0, 1: 1, 2: 2, 3: 2, 4: 1, 5: 0, 6: 0, 7: 1, 8: 2}
	for i, w := range want {
		if g := reflectIndex(i, 3); g != w {
			t.Errorf("reflectIndex(%d, 3) = %d, want %d", i, g, w)
		}
	}
	if g := reflectIndex(5, 1); g != 0 {
		t.Errorf("reflectIndex(5, 1) = %d", g)
	}
}

// TestUpsampleBilinearMatchesHeadFixture checks the up-sampling against the authors'
// code: pixel_logits[0] of the ideal-head-g8 fixture is s_n (8×8) up-sampled to 112×112
// by F.interpolate(mode="bilinear", align_corners=False).
func TestUpsampleBilinearMatchesHeadFixture(t *testing.T) {
	exp, err := weights.ReadSafetensors(filepath.Join("..", "testdata", "fixtures", "ideal-head-g8", "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	sn, logits := exp.Tensors["normal_score"], exp.Tensors["pixel_logits"]
	if sn == nil || logits == nil || len(sn.Data) != 64 || len(logits.Data) < 112*112 {
		t.Fatal("fixture lacks normal_score (64) or pixel_logits (2×112×112)")
	}
	got := UpsampleBilinear(sn.Data, 8, 8, 112, 112)
	want := logits.Data[:112*112]
	maxErr := 0.0
	for i := range got {
		maxErr = max(maxErr, math.Abs(float64(got[i]-want[i])))
	}
	t.Logf("max error %.3g", maxErr)
	if maxErr > 1e-6 {
		t.Errorf("max error %g", maxErr)
	}
}

// TestUpsampleBilinearHand checks hand-computed values: 2 → 4 samples gives
// src = 0 (clamped), 0.25, 0.75, 1.25 → i0 = 1 at the end with no right neighbour.
func TestUpsampleBilinearHand(t *testing.T) {
	got := UpsampleBilinear([]float32{0, 4}, 1, 2, 1, 4)
	want := []float32{0, 1, 3, 4}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("x=%d: %g, want %g", i, got[i], want[i])
		}
	}
	// Down-sampling 4 → 2: src = 0.5, 2.5.
	got = UpsampleBilinear([]float32{0, 2, 4, 6}, 4, 1, 2, 1)
	if got[0] != 1 || got[1] != 5 {
		t.Errorf("4→2: %v, want [1 5]", got)
	}
	// Two axes, 2×2 → 4×4: rows and columns sample at 0, 0.25, 0.75, 1 (clamped).
	got = UpsampleBilinear([]float32{0, 1, 2, 3}, 2, 2, 4, 4)
	want = []float32{0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("2×2→4×4: %v, want %v", got, want)
		}
	}
	// Same size is the identity.
	m := []float32{1, 2, 3, 4, 5, 6}
	got = UpsampleBilinear(m, 2, 3, 2, 3)
	for i := range m {
		if got[i] != m[i] {
			t.Errorf("identity: %v", got)
		}
	}
}

// Per-query map costs at the default input size: the 32×32 grid up-sampled to
// 448×448, then smoothed with σ = 4 for evaluation.
func BenchmarkUpsampleBilinear32To448(b *testing.B) {
	m := make([]float32, 32*32)
	for i := range m {
		m[i] = float32(i%7) / 7
	}
	for b.Loop() {
		UpsampleBilinear(m, 32, 32, 448, 448)
	}
}

func BenchmarkGaussianBlur448(b *testing.B) {
	m := UpsampleBilinear([]float32{0, 1, 1, 0}, 2, 2, 448, 448)
	for b.Loop() {
		GaussianBlur(m, 448, 448, 4)
	}
}
