package imaging

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/weights"
)

// TestPatchMaskMatchesHeadFixture checks the mask → patch-grid rule against the
// authors' code (fixture ideal-head-g8: a 112×112 pixel mask → 8×8 patch mask).
func TestPatchMaskMatchesHeadFixture(t *testing.T) {
	dir := filepath.Join("..", "testdata", "fixtures", "ideal-head-g8")
	in, err := weights.ReadSafetensors(filepath.Join(dir, "inputs.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := weights.ReadSafetensors(filepath.Join(dir, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	pix, want := in.Tensors["abnormal_masks"], exp.Tensors["abnormal_patch_masks"]
	if pix == nil || want == nil {
		t.Fatal("fixture lacks abnormal_masks or abnormal_patch_masks")
	}
	const size, patch = 112, 14
	if len(pix.Data) != size*size || len(want.Data) != 64 {
		t.Fatalf("shapes %v and %v, want [1 112 112] and [1 64]", pix.Shape, want.Shape)
	}
	m := NewMask(size, size)
	for i, v := range pix.Data {
		m.Pix[i] = v > 0
	}
	got := PatchMask(m, patch)
	defects := 0
	for i, g := range got {
		if g != (want.Data[i] > 0.5) {
			t.Errorf("patch %d (row %d, col %d): got %v, want %v", i, i/8, i%8, g, want.Data[i])
		}
		if g {
			defects++
		}
	}
	if defects == 0 || defects == 64 {
		t.Errorf("fixture has %d defect patches: the test would not discriminate", defects)
	}
}

// TestPatchMaskWindow checks the window rows 14i−1 … 14i+12 pixel by pixel: a single
// defect pixel at row r marks the patches whose window holds r.
func TestPatchMaskWindow(t *testing.T) {
	const size, patch = 56, 14
	for _, r := range []int{0, 12, 13, 14, 26, 27, 28, 55} {
		m := NewMask(size, size)
		m.Pix[r*size+20] = true // column 20 lies in column window 1 only (13…26)
		got := PatchMask(m, patch)
		for i := range 4 {
			inWin := r >= patch*i-1 && r <= patch*i+patch-2
			for j := range 4 {
				want := inWin && j == 1
				if got[i*4+j] != want {
					t.Errorf("pixel row %d: patch (%d,%d) = %v, want %v", r, i, j, got[i*4+j], want)
				}
			}
		}
	}
}

func TestResizeNearestPyTorchConvention(t *testing.T) {
	// 1-D checks through a 1-row mask: source index ⌊dst·in/out⌋.
	cases := []struct {
		in, out int
		want    []int
	}{
		{5, 3, []int{0, 1, 3}},       // 5/3 = 1.667: 0, 1.67, 3.33
		{3, 5, []int{0, 0, 1, 1, 2}}, // 0.6: 0, .6, 1.2, 1.8, 2.4
		{4, 8, []int{0, 0, 1, 1, 2, 2, 3, 3}},
		{7, 7, []int{0, 1, 2, 3, 4, 5, 6}},
		{10, 4, []int{0, 2, 5, 7}}, // 2.5: 0, 2.5, 5, 7.5
	}
	for _, c := range cases {
		for x := range c.in {
			src := NewMask(c.in, 1)
			src.Pix[x] = true
			got := src.ResizeNearest(c.out, 1)
			for d, s := range c.want {
				if got.Pix[d] != (s == x) {
					t.Errorf("in %d → out %d: output %d should copy input %d", c.in, c.out, d, s)
				}
			}
		}
		// The same along the vertical axis.
		for x := range c.in {
			src := NewMask(1, c.in)
			src.Pix[x] = true
			got := src.ResizeNearest(1, c.out)
			for d, s := range c.want {
				if got.Pix[d] != (s == x) {
					t.Errorf("vertical in %d → out %d: output %d should copy input %d", c.in, c.out, d, s)
				}
			}
		}
	}
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestMaskBinarisation(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 4, 1))
	copy(g.Pix, []uint8{0, 1, 128, 255})
	m, err := DecodeMask(encodePNG(t, g))
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true, true, true}; !equalBools(m.Pix, want) {
		t.Errorf("grey mask %v, want %v", m.Pix, want)
	}
	if m.Count() != 3 || m.Empty() {
		t.Errorf("Count %d Empty %v", m.Count(), m.Empty())
	}
	// Colour masks go through PIL's luma: (1,0,0) and (0,0,3) round to 0, (0,1,0) and
	// (2,0,0) to 1 (values checked with Pillow 9.4).
	c := image.NewNRGBA(image.Rect(0, 0, 5, 1))
	for i, p := range []color.NRGBA{{1, 0, 0, 255}, {0, 1, 0, 255}, {0, 0, 3, 255}, {2, 0, 0, 255}, {0, 0, 0, 0}} {
		c.Set(i, 0, p)
	}
	m, err = DecodeMask(encodePNG(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true, false, true, false}; !equalBools(m.Pix, want) {
		t.Errorf("colour mask %v, want %v", m.Pix, want)
	}
	g16 := image.NewGray16(image.Rect(0, 0, 3, 1))
	g16.Pix = []uint8{0, 0, 0, 1, 1, 0}
	m, err = DecodeMask(encodePNG(t, g16))
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true, true}; !equalBools(m.Pix, want) {
		t.Errorf("16-bit mask %v, want %v", m.Pix, want)
	}
	if !NewMask(3, 3).Empty() {
		t.Error("new mask is not empty")
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMaskErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadMask(filepath.Join(dir, "missing.png")); err == nil || !strings.HasPrefix(err.Error(), "imaging: ") {
		t.Errorf("missing mask: %v", err)
	}
	txt := filepath.Join(dir, "mask.png")
	if err := os.WriteFile(txt, []byte("not a png\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMask(txt); err == nil || !strings.Contains(err.Error(), "text") {
		t.Errorf("text mask: %v", err)
	}
	if err := CheckMaskSize(10, 20, 10, 20); err != nil {
		t.Errorf("same size: %v", err)
	}
	if err := CheckMaskSize(10, 20, 20, 10); err == nil || !strings.Contains(err.Error(), "20×10") {
		t.Errorf("different size: %v", err)
	}
}

func TestPrepareMask(t *testing.T) {
	dir := t.TempDir()
	g := image.NewGray(image.Rect(0, 0, 56, 28))
	g.Pix[10*56+30] = 200 // pixel (30, 10)
	p := filepath.Join(dir, "m.png")
	if err := os.WriteFile(p, encodePNG(t, g), 0o644); err != nil {
		t.Fatal(err)
	}
	m, grid, err := PrepareMask(p, 56, 28, 28, 14)
	if err != nil {
		t.Fatal(err)
	}
	// 56×28 → 28×28: x 30 → 15 (⌊15·2⌋ = 30), y 10 → 10. Window of patch 1 is 13…26.
	if m.W != 28 || m.H != 28 || m.Count() != 1 || !m.Pix[10*28+15] {
		t.Errorf("resized mask %d×%d with %d defect pixels", m.W, m.H, m.Count())
	}
	if want := []bool{false, true, false, false}; !equalBools(grid, want) {
		t.Errorf("patch grid %v, want %v", grid, want)
	}
	if _, _, err := PrepareMask(p, 56, 29, 28, 14); err == nil || !strings.Contains(err.Error(), "mask is 56×28 but its image is 56×29") {
		t.Errorf("size mismatch: %v", err)
	}
	if _, _, err := PrepareMask(p, 56, 28, 30, 14); err == nil {
		t.Error("size not a multiple of the patch accepted")
	}
}
