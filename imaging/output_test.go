package imaging

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestColormaps(t *testing.T) {
	inf, err := LookupColormap("inferno")
	if err != nil {
		t.Fatal(err)
	}
	// matplotlib's inferno: first entry (0.001462, 0.000466, 0.013866), last
	// (0.988362, 0.998364, 0.644924), entry 128 (0.735683, 0.215906, 0.330245); ×255 truncated.
	for _, c := range []struct {
		v    float32
		want [3]uint8
	}{{0, [3]uint8{0, 0, 3}}, {-1, [3]uint8{0, 0, 3}}, {1, [3]uint8{252, 254, 164}}, {2, [3]uint8{252, 254, 164}}, {0.5, [3]uint8{187, 55, 84}}, {float32(math.NaN()), [3]uint8{}}} {
		if g := inf.At(c.v); g != c.want {
			t.Errorf("inferno(%g) = %v, want %v", c.v, g, c.want)
		}
	}
	jet, _ := LookupColormap("jet")
	if g := jet.At(0); g != [3]uint8{0, 0, 127} {
		t.Errorf("jet(0) = %v, want dark blue (0, 0, 127)", g)
	}
	if g := jet.At(1); g != [3]uint8{127, 0, 0} {
		t.Errorf("jet(1) = %v, want dark red (127, 0, 0)", g)
	}
	grey, _ := LookupColormap("Gray")
	if g := grey.At(0.25); g != [3]uint8{64, 64, 64} {
		t.Errorf("grey(0.25) = %v", g)
	}
	// Monotone luminance: inferno is perceptually uniform.
	prev := -1
	for i := range 256 {
		c := inf.At((float32(i) + 0.5) / 256)
		l := int(luma(c[0], c[1], c[2]))
		if l < prev-1 {
			t.Errorf("inferno luminance drops at entry %d: %d after %d", i, l, prev)
		}
		prev = l
	}
	if _, err := LookupColormap("viridis"); err == nil || !strings.Contains(err.Error(), "inferno, jet, grey") {
		t.Errorf("unknown map: %v", err)
	}
}

func TestOverlay(t *testing.T) {
	img := NewRGB(2, 1)
	copy(img.Pix, []uint8{100, 100, 100, 0, 0, 0})
	grey, _ := LookupColormap("grey")
	out := Overlay(img, []float32{1, 0}, grey, 0.25)
	// 0.75·100 + 0.25·255 = 138.75 → 139; 0.75·0 + 0.25·0 = 0.
	if want := []uint8{139, 139, 139, 0, 0, 0}; string(out.Pix) != string(want) {
		t.Errorf("overlay %v, want %v", out.Pix, want)
	}
	if out := Overlay(img, []float32{1, 0}, grey, 0); string(out.Pix) != string(img.Pix) {
		t.Errorf("opacity 0 changed the image: %v", out.Pix)
	}
	// A 2×2 grid with one hot patch, up-sampled onto a 4×4 picture: the hot corner
	// is brighter than the opposite one.
	base := NewRGB(4, 4)
	h := HeatmapOverlay(base, []float32{1, 0, 0, 0}, 2, 2, grey, 1)
	if h.Pix[0] != 255 || h.Pix[3*15] != 0 {
		t.Errorf("heatmap corners %d and %d, want 255 and 0", h.Pix[0], h.Pix[3*15])
	}
}

func TestMapPNGRoundTrip(t *testing.T) {
	dir := t.TempDir()
	w, h := 7, 5
	m := make([]float32, w*h)
	for i := range m {
		m[i] = float32(i) / float32(len(m)-1)
	}
	m[3] = -0.5 // clamps to 0
	m[4] = 1.5  // clamps to 1
	p := filepath.Join(dir, "map.png")
	if err := WriteMapPNG(p, m, w, h); err != nil {
		t.Fatal(err)
	}
	got, gw, gh, err := ReadMapPNG(p)
	if err != nil || gw != w || gh != h {
		t.Fatalf("ReadMapPNG: %d×%d, %v", gw, gh, err)
	}
	for i, v := range m {
		want := min(max(v, 0), 1)
		if d := math.Abs(float64(got[i] - want)); d > 0.5/65535+1e-7 {
			t.Errorf("value %d: %g, want %g", i, got[i], want)
		}
	}
	m[6] = float32(math.NaN())
	if err := WriteMapPNG(filepath.Join(dir, "nan.png"), m, w, h); err == nil || !strings.Contains(err.Error(), "(6, 0) is NaN") {
		t.Errorf("NaN map: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nan.png")); !os.IsNotExist(err) {
		t.Errorf("a file was written for a NaN map")
	}
	if err := WriteMapPNG(filepath.Join(dir, "x.png"), m, 3, 3); err == nil {
		t.Error("wrong size accepted")
	}
	if _, _, _, err := ReadMapPNG(filepath.Join("testdata", "decode", "rgb.png")); err == nil || !strings.Contains(err.Error(), "want 8- or 16-bit grey") {
		t.Errorf("colour map file: %v", err)
	}
	if err := WritePNG(filepath.Join(dir, "missing", "x.png"), NewRGB(1, 1)); err == nil || !strings.HasPrefix(err.Error(), "imaging: ") {
		t.Errorf("unwritable path: %v", err)
	}
}
