package mapio

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fixtureValues(t *testing.T) (int, int, []uint32) {
	t.Helper()
	raw, err := os.ReadFile("testdata/values.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		W, H    int
		F32Bits []uint32 `json:"f32_bits"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v.W, v.H, v.F32Bits
}

// TestReadOtherWriters reads maps written by tifffile and PIL (see
// testdata/gen_fixtures.py) and compares every value bit for bit.
func TestReadOtherWriters(t *testing.T) {
	w, h, bits := fixtureValues(t)
	for _, name := range []string{"tifffile_f32_le.tiff", "tifffile_f32_be.tiff", "tifffile_f32_strips.tiff",
		"tifffile_f64.tiff", "pil_f32.tiff"} {
		m, src, err := Read(filepath.Join("testdata", name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if src != SourceFloatTIFF || m.W != w || m.H != h {
			t.Errorf("%s: %v %d×%d, want float TIFF %d×%d", name, src, m.W, m.H, w, h)
			continue
		}
		for i, b := range bits {
			if got := math.Float32bits(m.Pix[i]); got != b {
				t.Errorf("%s: value %d bits %#x, want %#x", name, i, got, b)
				break
			}
		}
	}
	ints := map[string]struct {
		src  Source
		step float32
	}{"tifffile_u16.tiff": {SourceIntTIFF, 1000}, "gray16.png": {SourcePNG16, 1800}, "gray8.png": {SourcePNG8, 7}}
	for name, want := range ints {
		m, src, err := Read(filepath.Join("testdata", name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if src != want.src || m.W != w || m.H != h {
			t.Errorf("%s: %v %d×%d", name, src, m.W, m.H)
			continue
		}
		for i, v := range m.Pix {
			if v != float32(i)*want.step {
				t.Errorf("%s: value %d = %v, want %v", name, i, v, float32(i)*want.step)
				break
			}
		}
	}
}

func TestRejects(t *testing.T) {
	for name, want := range map[string]string{
		"tifffile_deflate.tiff": "compressed",
		"tifffile_rgb.tiff":     "samples per pixel",
		"rgb.png":               "single-channel grey",
		"values.json":           "not a TIFF or PNG",
		"missing.tiff":          "no such file",
	} {
		_, _, err := Read(filepath.Join("testdata", name))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "mapio: ") && !strings.Contains(err.Error(), ": mapio: ") {
			t.Errorf("%s: error %v, want one saying %q", name, err, want)
		}
	}
	// Every truncation of a valid file is an error, never a panic.
	var b bytes.Buffer
	if err := WriteTIFF(&b, &Map{W: 3, H: 2, Pix: []float32{1, 2, 3, 4, 5, 6}}); err != nil {
		t.Fatal(err)
	}
	full := b.Bytes()
	for n := range len(full) {
		if _, err := DecodeTIFF(full[:n]); err == nil {
			t.Errorf("TIFF cut to %d of %d bytes decoded", n, len(full))
		}
	}
	if err := WriteTIFF(&b, &Map{W: 2, H: 2, Pix: []float32{1}}); err == nil {
		t.Error("map of the wrong length written")
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m := &Map{W: 65, H: 3, Pix: make([]float32, 65*3)}
	for i := range m.Pix {
		m.Pix[i] = float32(i)*0.37 - 20
	}
	m.Pix[7] = float32(math.Inf(1))
	m.Pix[8] = float32(math.Copysign(0, -1))
	p := filepath.Join(dir, RelPath("bottle", "broken_large", "/data/bottle/test/broken_large/003.png"))
	if want := filepath.Join(dir, "bottle/test/broken_large/003.tiff"); p != want {
		t.Fatalf("RelPath gave %s, want %s", p, want)
	}
	if err := Write(p, m); err != nil {
		t.Fatal(err)
	}
	got, src, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if src != SourceFloatTIFF || got.W != m.W || got.H != m.H {
		t.Fatalf("read back %v %d×%d", src, got.W, got.H)
	}
	for i := range m.Pix {
		if math.Float32bits(got.Pix[i]) != math.Float32bits(m.Pix[i]) {
			t.Fatalf("value %d: %v, want %v", i, got.Pix[i], m.Pix[i])
		}
	}
	if got.Max() != float32(math.Inf(1)) {
		t.Errorf("Max = %v", got.Max())
	}
	// Only the map is left in the folder: the write went through a renamed temporary file.
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries", len(entries))
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	mk := func(rel string) {
		p := filepath.Join(root, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, nil, 0o644)
	}
	mk("c/test/good/001.tiff")
	mk("c/test/ok/002.png") // BTAD: folder name instead of the defect type
	mk("c/test/hole/003.tif")
	for img, want := range map[[2]string]string{
		{"good", "/d/c/test/good/001.bmp"}: "c/test/good/001.tiff",
		{"good", "/d/c/test/ok/002.bmp"}:   "c/test/ok/002.png",
		{"hole", "/d/c/test/hole/003.png"}: "c/test/hole/003.tif",
	} {
		p, err := Find(root, "c", img[0], img[1])
		if err != nil || p != filepath.Join(root, want) {
			t.Errorf("Find(%v) = %s, %v; want %s", img, p, err, want)
		}
	}
	p, err := Find(root, "c", "crack", "/d/c/test/crack/004.png")
	if !errors.Is(err, fs.ErrNotExist) || p != filepath.Join(root, "c/test/crack/004.tiff") {
		t.Errorf("missing map: %s, %v", p, err)
	}
}

func BenchmarkWriteTIFF448(b *testing.B) {
	m := &Map{W: 448, H: 448, Pix: make([]float32, 448*448)}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		WriteTIFF(&buf, m)
	}
}

func BenchmarkDecodeTIFF448(b *testing.B) {
	var buf bytes.Buffer
	WriteTIFF(&buf, &Map{W: 448, H: 448, Pix: make([]float32, 448*448)})
	for b.Loop() {
		DecodeTIFF(buf.Bytes())
	}
}

func TestMax(t *testing.T) {
	for _, c := range []struct {
		pix  []float32
		want float32
	}{
		{[]float32{-3, -1, -2}, -1},
		{[]float32{float32(math.Inf(-1))}, float32(math.Inf(-1))},
		{[]float32{1, float32(math.NaN()), 2}, float32(math.NaN())},
	} {
		got := (&Map{W: len(c.pix), H: 1, Pix: c.pix}).Max()
		if got != c.want && !(got != got && c.want != c.want) {
			t.Errorf("Max(%v) = %v, want %v", c.pix, got, c.want)
		}
	}
}
