package synth

import (
	"bytes"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/data"
)

func readPNG(t *testing.T, p string) image.Image {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	im, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return im
}

// files returns every file under dir with its contents, by relative path.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		r, _ := filepath.Rel(dir, p)
		out[r] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateReadableAndExact(t *testing.T) {
	out := t.TempDir()
	opt := Options{Size: 64, Seed: 5, Train: 2, TestGood: 2, PerDefect: 2}
	calls := 0
	opt.Progress = func(done, total int) { calls++ }
	if err := Generate(out, opt); err != nil {
		t.Fatal(err)
	}
	ds, err := data.Open(out, data.FormatMVTec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := ds.Problems(); len(p) != 0 {
		t.Fatalf("problems: %v", p)
	}
	var names []string
	for _, c := range ds.Classes {
		names = append(names, c.Name)
	}
	if want := slices.Sorted(slices.Values(Classes())); !slices.Equal(names, want) {
		t.Fatalf("classes %q, want %q", names, want)
	}
	textures, objects, total := 0, 0, 0
	for _, c := range ds.Classes {
		if IsTexture(c.Name) {
			textures++
		} else {
			objects++
		}
		types := DefectTypes(c.Name)
		if len(types) < 5 {
			t.Errorf("%s: %d defect types", c.Name, len(types))
		}
		if got := c.DefectTypes(); !slices.Equal(got, slices.Sorted(slices.Values(types))) {
			t.Errorf("%s: defect types on disk %q, want %q", c.Name, got, types)
		}
		if len(c.Train) != 2 || len(c.Normal()) != 2 || len(c.Anomalous()) != 2*len(types) {
			t.Errorf("%s: %d train, %d normal, %d anomalous", c.Name, len(c.Train), len(c.Normal()), len(c.Anomalous()))
		}
		total += len(c.Train) + len(c.Test)
		for _, s := range c.Anomalous() {
			im, m := readPNG(t, s.Path), readPNG(t, s.MaskPath)
			if im.Bounds() != image.Rect(0, 0, 64, 64) || m.Bounds() != im.Bounds() {
				t.Fatalf("%s: image %v mask %v", s.Path, im.Bounds(), m.Bounds())
			}
			g, ok := m.(*image.Gray)
			if !ok {
				t.Fatalf("%s: mask is %T, want 8-bit grey", s.MaskPath, m)
			}
			n := 0
			for _, v := range g.Pix {
				if v != 0 && v != 255 {
					t.Fatalf("%s: mask value %d", s.MaskPath, v)
				}
				if v == 255 {
					n++
				}
			}
			if n < 6 || n > 64*64/3 {
				t.Errorf("%s: %d mask pixels", s.MaskPath, n)
			}
		}
	}
	if textures < 4 || objects < 2 {
		t.Errorf("%d textures, %d objects", textures, objects)
	}
	if calls != total {
		t.Errorf("progress called %d times for %d images", calls, total)
	}
	if _, err := os.Stat(filepath.Join(out, ManifestName)); err != nil {
		t.Error(err)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	opt := Options{Size: 48, Seed: 9, Train: 1, TestGood: 1, PerDefect: 1, Classes: []string{"wood", "pill"}}
	for _, d := range []string{a, b} {
		if err := Generate(d, opt); err != nil {
			t.Fatal(err)
		}
	}
	fa, fb := files(t, a), files(t, b)
	if len(fa) != len(fb) || len(fa) != 2*(2+6+6)+1 {
		t.Fatalf("%d and %d files", len(fa), len(fb))
	}
	for k, v := range fa {
		if !bytes.Equal(v, fb[k]) {
			t.Errorf("%s differs between two runs of one seed", k)
		}
	}
	// A class's images do not depend on the other classes chosen.
	one := opt
	one.Classes = []string{"pill"}
	if err := Generate(c, one); err != nil {
		t.Fatal(err)
	}
	for k, v := range files(t, c) {
		if strings.HasPrefix(k, "pill") && !bytes.Equal(v, fa[k]) {
			t.Errorf("%s changed when wood was left out", k)
		}
	}
	// Another seed, other images.
	opt.Seed = 10
	d := t.TempDir()
	if err := Generate(d, opt); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(files(t, d)[filepath.Join("wood", "train", "good", "000.png")], fa[filepath.Join("wood", "train", "good", "000.png")]) {
		t.Error("seeds 9 and 10 made the same image")
	}
}

// TestNormalVariation checks that two normal images of one class differ by more than
// sensor noise: the nuisance the NVE has to erase is really there.
func TestNormalVariation(t *testing.T) {
	out := t.TempDir()
	if err := Generate(out, Options{Size: 64, Seed: 1, Train: 2, TestGood: 1, PerDefect: 1}); err != nil {
		t.Fatal(err)
	}
	for _, c := range Classes() {
		a := readPNG(t, filepath.Join(out, c, "train", "good", "000.png")).(*image.RGBA)
		b := readPNG(t, filepath.Join(out, c, "train", "good", "001.png")).(*image.RGBA)
		var d float64
		for i := range a.Pix {
			x := float64(a.Pix[i]) - float64(b.Pix[i])
			d += x * x
		}
		rms := d / float64(len(a.Pix))
		if rms < 5*5 { // sensor noise alone gives about 3 levels
			t.Errorf("%s: two normal images differ by %.1f levels rms", c, rms)
		}
	}
}

// TestDefectRegion checks on the scenes that every defect repaints its region
// visibly and leaves the rest alone.
func TestDefectRegion(t *testing.T) {
	for i := range specs {
		s := &specs[i]
		for _, typ := range s.defects {
			rng := jobRand(3, job{s, "test", typ, 0})
			sc := s.scene(rng)
			cam := newCamera(rng, s.texture, 96)
			base := cam.render(sc.at)
			var d drawnDefect
			for try := 0; try < 50; try++ { // as makeImage does: draw again until the defect is seen
				var err error
				if d, err = withDefect(sc, typ, rng, 1.0/96); err != nil {
					t.Fatal(err)
				}
				if _, n := cam.drawDefect(d, nil, false); n > 10 {
					break
				}
			}
			img := slices.Clone(base)
			mask, n := cam.drawDefect(d, img, true)
			changed := 0
			for p := range img {
				diff := 0.0
				for k := range 3 {
					diff = max(diff, abs(img[p][k]-base[p][k]))
				}
				if mask.Pix[p] == 0 && diff != 0 {
					t.Fatalf("%s/%s: pixel %d outside the mask changed", s.name, typ, p)
				}
				if mask.Pix[p] != 0 && diff >= 8.0/255 {
					changed++
				}
			}
			// Visible almost everywhere in the region (a colour shift or a moved
			// object may leave a few pixels alike).
			if n == 0 || float64(changed) < 0.7*float64(n) {
				t.Errorf("%s/%s: %d of %d mask pixels changed by 8 levels or more", s.name, typ, changed, n)
			}
		}
	}
	if _, err := withDefect(specs[0].scene(jobRand(1, job{&specs[0], "test", "x", 0})), "dent", jobRand(1, job{&specs[0], "test", "x", 0}), 0.01); err == nil {
		t.Error("unknown defect type accepted")
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestGenerateReplace(t *testing.T) {
	out := t.TempDir()
	opt := Options{Size: 32, Seed: 1, Train: 1, TestGood: 1, PerDefect: 2, Classes: []string{"metal"}}
	if err := Generate(out, opt); err != nil {
		t.Fatal(err)
	}
	opt.PerDefect = 1
	if err := Generate(out, opt); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("second run into the same folder: %v", err)
	}
	opt.Replace = true
	if err := Generate(out, opt); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "metal", "test", "hole", "001.png")); !os.IsNotExist(err) {
		t.Errorf("stale image of the first run: %v", err)
	}
	// Not a folder synth made: never removed.
	other := t.TempDir()
	if err := os.MkdirAll(filepath.Join(other, "metal", "mine"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Generate(other, opt); err == nil || !strings.Contains(err.Error(), "not replacing") {
		t.Errorf("replace in a foreign folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "metal", "mine")); err != nil {
		t.Error(err)
	}
}

func TestGenerateBadOptions(t *testing.T) {
	for _, o := range []Options{{Size: 8}, {Classes: []string{"sofa"}}, {Train: -1}, {PerDefect: 20000}} {
		if err := Generate(t.TempDir(), o); err == nil || !strings.HasPrefix(err.Error(), "synth: ") {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// BenchmarkGenerate measures the default data set (6 classes at 256², 204 images).
func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		if err := Generate(b.TempDir(), Options{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
