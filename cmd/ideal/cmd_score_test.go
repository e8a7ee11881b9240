package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/results"
	"github.com/ideal-fsad/ideal/results/scorerun"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

const headFixture = "../../testdata/fixtures/ideal-head-g8/"

// scoreFixtureFiles writes the ideal-head-g8 inputs as features files and the abnormal
// mask as a PNG, as a user would have them, and returns their paths.
func scoreFixtureFiles(t *testing.T) (dir string, exp map[string]*tensor.Dense) {
	t.Helper()
	in, err := weights.ReadSafetensors(headFixture + "inputs.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	e, err := weights.ReadSafetensors(headFixture + "expected.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	for _, name := range []string{"normal", "abnormal", "query"} {
		f := in.Tensors[name+"_features"]
		feats := tensor.FromData(f.Data, 64, 384)
		md := map[string]string{"format": "ideal-features", "size": "112", "grid": "8", "width": "384"}
		if err := weights.WriteSafetensors(filepath.Join(dir, name+".safetensors"), map[string]*tensor.Dense{"features": feats}, md); err != nil {
			t.Fatal(err)
		}
	}
	m := in.Tensors["abnormal_masks"]
	img := image.NewGray(image.Rect(0, 0, 112, 112))
	for i, v := range m.Data {
		if v > 0 {
			img.Pix[i] = 255
		}
	}
	writeTestPNG(t, filepath.Join(dir, "mask.png"), img)
	return dir, e.Tensors
}

func writeTestPNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestScoreJSONMatchesFixture(t *testing.T) {
	for _, be := range []string{"reference", "cpu"} {
		t.Run(be, func(t *testing.T) { testScoreJSON(t, be) })
	}
}

func testScoreJSON(t *testing.T, backend string) {
	dir, exp := scoreFixtureFiles(t)
	out := filepath.Join(dir, "scores.json")
	err := runScore([]string{"--backend", backend, "--head", headFixture + "head.safetensors",
		"--normal", filepath.Join(dir, "normal.safetensors"),
		"--abnormal", filepath.Join(dir, "abnormal.safetensors"), "--abnormal-mask", filepath.Join(dir, "mask.png"),
		filepath.Join(dir, "query.safetensors"), "--json", out, "--out", filepath.Join(dir, "maps")})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var got scorerun.JSON
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Queries) != 1 {
		t.Fatalf("%d queries in the JSON, want 1", len(got.Queries))
	}
	q := got.Queries[0]
	check := func(name string, rows [][]float32) {
		var flat []float32
		for _, r := range rows {
			if len(r) != 8 {
				t.Fatalf("%s: row of %d values, want 8", name, len(r))
			}
			flat = append(flat, r...)
		}
		want := exp[name].Data
		if len(flat) != len(want) {
			t.Fatalf("%s: %d values, want %d", name, len(flat), len(want))
		}
		var m float64
		for i := range want {
			m = math.Max(m, math.Abs(float64(flat[i]-want[i])))
		}
		if m > 1e-4 {
			t.Errorf("%s: max abs error %.3g > 1e-4", name, m)
		}
		t.Logf("%s: max abs error %.2g", name, m)
	}
	check("anomaly_map", q.Map)
	check("normal_score", q.NormalScore)
	if d := math.Abs(float64(q.ImageScore - exp["image_score"].Data[0])); d > 1e-4 {
		t.Errorf("image_score %v, fixture %v", q.ImageScore, exp["image_score"].Data[0])
	}
	m0 := checkScoreView(t, filepath.Join(dir, "maps"), got)
	if e := m0.Episodes[0]; e.Normal[0] != filepath.Join(dir, "normal.safetensors") ||
		len(e.Abnormal) != 1 || e.Abnormal[0] != (results.Reference{Path: filepath.Join(dir, "abnormal.safetensors"), Mask: filepath.Join(dir, "mask.png")}) {
		t.Errorf("references in view.json: %+v", e)
	}
	if headAbs, _ := filepath.Abs(headFixture + "head.safetensors"); m0.Backbone != "" || m0.Head != headAbs || m0.Size != 112 || m0.Tool != "ideal score" {
		t.Errorf("view.json: backbone %q head %q size %d tool %q", m0.Backbone, m0.Head, m0.Size, m0.Tool)
	}
	if w, h, err := imageSize(filepath.Join(dir, "maps", "query_overlay.png")); err != nil || w != 112 || h != 112 {
		t.Errorf("overlay: %v, %d×%d, want a 112×112 PNG", err, w, h)
	}
	// The full-size map is A up-sampled like the pixel logits: compare with the
	// fixture's s_n and s_a channels combined, (s_a + 1 − s_n)/2.
	m, _, err := mapio.Read(filepath.Join(dir, "maps", "query_map.tiff"))
	if err != nil {
		t.Fatal(err)
	}
	pl := exp["pixel_logits"].Data
	var worst float64
	for i, v := range m.Pix {
		worst = math.Max(worst, math.Abs(float64(v)-float64(pl[112*112+i]+1-pl[i])/2))
	}
	if m.W != 112 || m.H != 112 || worst > 1e-4 {
		t.Errorf("map TIFF %d×%d, max abs error %.3g against the fixture's pixel logits", m.W, m.H, worst)
	}
}

func TestScoreNormalOnly(t *testing.T) {
	dir, exp := scoreFixtureFiles(t)
	out := filepath.Join(dir, "scores.json")
	if err := runScore([]string{"--backend", "reference", "--normal", filepath.Join(dir, "normal.safetensors"),
		filepath.Join(dir, "query.safetensors"), filepath.Join(dir, "abnormal.safetensors"), "--json", out}); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(out)
	var got scorerun.JSON
	if err := json.Unmarshal(raw, &got); err != nil || len(got.Queries) != 2 {
		t.Fatalf("%v, %d queries", err, len(got.Queries))
	}
	for i, r := range got.Queries[0].Map {
		for j, a := range r {
			want := 1 - exp["normal_score"].Data[i*8+j]
			if math.Abs(float64(a-want)) > 1e-4 {
				t.Fatalf("map[%d][%d] = %v, want 1 − s_n = %v", i, j, a, want)
			}
		}
	}
}

func TestScoreErrors(t *testing.T) {
	dir, _ := scoreFixtureFiles(t)
	p := func(n string) string { return filepath.Join(dir, n) }
	// Features of another width (48) and of another grid (7×7).
	if err := weights.WriteSafetensors(p("narrow.safetensors"), map[string]*tensor.Dense{"features": tensor.New(64, 48)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := weights.WriteSafetensors(p("grid7.safetensors"), map[string]*tensor.Dense{"features": tensor.New(49, 384)}, nil); err != nil {
		t.Fatal(err)
	}
	tiny := "../../testdata/fixtures/dinov2-tiny/"
	writeTestPNG(t, p("mask50.png"), image.NewGray(image.Rect(0, 0, 50, 50)))
	if err := runInitHead([]string{"-o", p("head48.safetensors"), "--channels", "48"}); err != nil {
		t.Fatal(err)
	}
	base := []string{"--backend", "reference", "--json", p("out.json"), "--head", headFixture + "head.safetensors"}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"mask missing", []string{"--normal", p("normal.safetensors"), "--abnormal", p("abnormal.safetensors"),
			"--abnormal-mask", p("absent.png"), p("query.safetensors")}, "absent.png"},
		{"mask flag missing", []string{"--normal", p("normal.safetensors"), "--abnormal", p("abnormal.safetensors"),
			p("query.safetensors")}, "1 --abnormal but 0 --abnormal-mask"},
		{"mask size", []string{"--backbone", tiny + "weights.safetensors", "--size", "98", "--abnormal", tiny + "input.png",
			"--abnormal-mask", p("mask50.png"), "--head", p("head48.safetensors"), tiny + "input.png"}, "mask is 50×50 but its image is"},
		{"width", []string{"--normal", p("normal.safetensors"), p("narrow.safetensors")}, "features are 48 wide but the head expects 384"},
		{"grid", []string{"--normal", p("normal.safetensors"), p("grid7.safetensors")}, "query is on a 7×7 grid, the references on 8×8"},
		{"image without backbone", []string{"--normal", tiny + "input.png", p("query.safetensors")}, "--backbone is needed"},
		{"no query", []string{"--normal", p("normal.safetensors")}, "no query"},
	}
	for _, c := range cases {
		err := runScore(append(append([]string(nil), base...), c.args...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := os.Stat(p("out.json")); err == nil {
		t.Error("a failed run left a JSON file")
	}
}

// TestScoreImages runs the whole pipeline on images: the tiny DINOv2 fixture backbone,
// a freshly initialised head of its width, the fixture image as normal and abnormal
// reference and as query, and checks the outputs' shapes and ranges.
func TestScoreImages(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	tiny := "../../testdata/fixtures/dinov2-tiny/"
	if err := runInitHead([]string{"-o", p("head48.safetensors"), "--channels", "48", "--seed", "3"}); err != nil {
		t.Fatal(err)
	}
	w, h, err := imageSize(tiny + "input.png")
	if err != nil {
		t.Fatal(err)
	}
	mask := image.NewGray(image.Rect(0, 0, w, h))
	for y := h / 3; y < h/2; y++ {
		for x := w / 3; x < w/2; x++ {
			mask.Pix[y*mask.Stride+x] = 1 // any non-zero value is a defect
		}
	}
	writeTestPNG(t, p("mask.png"), mask)
	err = runScore([]string{"--backend", "reference", "--backbone", tiny + "weights.safetensors", "--size", "98",
		"--head", p("head48.safetensors"), "--normal", tiny + "input.png", "--abnormal", tiny + "input.png",
		"--abnormal-mask", p("mask.png"), tiny + "input.png", "--json", p("s.json"), "--out", p("out")})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p("s.json"))
	var got scorerun.JSON
	if err := json.Unmarshal(raw, &got); err != nil || len(got.Queries) != 1 || len(got.Queries[0].Map) != 7 {
		t.Fatalf("%v: %s", err, raw)
	}
	// The query is the normal reference itself: every patch finds itself, s_n = 1.
	for _, r := range got.Queries[0].NormalScore {
		for _, v := range r {
			if math.Abs(float64(v)-1) > 1e-5 {
				t.Fatalf("s_n = %v for a query equal to the normal reference, want 1", v)
			}
		}
	}
	if gw, gh, err := imageSize(p("out/input_overlay.png")); err != nil || gw != w || gh != h {
		t.Errorf("overlay: %v, %d×%d, want the original %d×%d", err, gw, gh, w, h)
	}
	if m, _, err := mapio.Read(p("out/input_map.tiff")); err != nil || m.W != w || m.H != h {
		t.Errorf("map: %v, want a %d×%d TIFF", err, w, h)
	}
}

func imageSize(path string) (int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	return cfg.Width, cfg.Height, err
}

// checkScoreView reads the results folder that ideal score --out wrote and checks that
// its one episode holds the queries of the --json output in order, with the same image
// scores and maps, and returns the manifest.
func checkScoreView(t *testing.T, dir string, js scorerun.JSON) *results.Manifest {
	t.Helper()
	m, err := results.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Episodes) != 1 || len(m.Episodes[0].Queries) != len(js.Queries) {
		t.Fatalf("view.json: %d episodes, want 1 with %d queries", len(m.Episodes), len(js.Queries))
	}
	for i, q := range m.Episodes[0].Queries {
		want := js.Queries[i]
		abs, _ := filepath.Abs(want.Path)
		if q.Path != abs || q.Label != -1 || q.ImageScore != want.ImageScore || q.Grid != len(want.Map) {
			t.Errorf("view.json query %d: %+v; --json path %s score %v grid %d", i, q, abs, want.ImageScore, len(want.Map))
		}
		a, sn, sa, err := q.LoadMaps()
		if err != nil {
			t.Fatal(err)
		}
		for k, pair := range []struct {
			got  []float32
			want [][]float32
		}{{a, want.Map}, {sn, want.NormalScore}, {sa, want.DeviationScore}} {
			for r, row := range pair.want {
				for c, v := range row {
					if g := pair.got[r*q.Grid+c]; g != v {
						t.Fatalf("query %d map %d [%d][%d]: maps file %v, --json %v", i, k, r, c, g, v)
					}
				}
			}
		}
	}
	return m
}

// TestScoreViewImages checks the results folder of a run on images: inputs outside the
// folder are recorded with absolute paths, a query's NAME_mask.png beside it is its
// ground truth, and the backbone and size are recorded.
func TestScoreViewImages(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	tiny := "../../testdata/fixtures/dinov2-tiny/"
	if err := runInitHead([]string{"-o", p("head48.safetensors"), "--channels", "48", "--seed", "3"}); err != nil {
		t.Fatal(err)
	}
	img, err := os.ReadFile(tiny + "input.png")
	if err != nil {
		t.Fatal(err)
	}
	w, h, _ := imageSize(tiny + "input.png")
	// Two queries: one with a ground truth beside it, one without.
	for _, n := range []string{"q.png", "other.png"} {
		if err := os.WriteFile(p(n), img, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mask := image.NewGray(image.Rect(0, 0, w, h))
	for i := range mask.Pix[:len(mask.Pix)/3] {
		mask.Pix[i] = 255
	}
	writeTestPNG(t, p("q_mask.png"), mask)
	writeTestPNG(t, p("ref_mask.png"), mask)
	out := p("out")
	err = runScore([]string{"--backend", "cpu", "--backbone", tiny + "weights.safetensors", "--size", "98",
		"--head", p("head48.safetensors"), "--normal", tiny + "input.png", "--abnormal", p("q.png"),
		"--abnormal-mask", p("ref_mask.png"), p("q.png"), p("other.png"), "--json", p("s.json"), "--out", out,
		dir + string(filepath.Separator) + "." + string(filepath.Separator) + "q.png"}) // q.png again, spelt differently
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p("s.json"))
	var js scorerun.JSON
	if err := json.Unmarshal(raw, &js); err != nil {
		t.Fatal(err)
	}
	if len(js.Queries) != 3 {
		t.Fatalf("%d queries in the JSON, want 3", len(js.Queries))
	}
	js.Queries = js.Queries[:2] // view.json lists q.png once
	m := checkScoreView(t, out, js)
	tinyAbs, _ := filepath.Abs(tiny + "input.png")
	e := m.Episodes[0]
	if e.Normal[0] != tinyAbs || e.Queries[0].Mask != p("q_mask.png") || e.Queries[1].Mask != "" {
		t.Errorf("normal %s, query masks %q %q", e.Normal[0], e.Queries[0].Mask, e.Queries[1].Mask)
	}
	if e.Queries[1].Maps != filepath.Join(out, "maps", "other"+results.MapsExt) {
		t.Errorf("maps file %s", e.Queries[1].Maps)
	}
	if bb, _ := filepath.Abs(tiny + "weights.safetensors"); m.Backbone != bb || m.Size != 98 || e.Queries[0].Grid != 7 {
		t.Errorf("backbone %q, size %d, grid %d", m.Backbone, m.Size, e.Queries[0].Grid)
	}
	// On disk the inputs outside the folder are absolute, the maps relative: the
	// folder opens from any working directory.
	view, _ := os.ReadFile(filepath.Join(out, results.FileName))
	if !strings.Contains(string(view), `"`+filepath.ToSlash(tinyAbs)+`"`) || !strings.Contains(string(view), `"maps/q.maps.safetensors"`) {
		t.Errorf("view.json:\n%s", view)
	}
}

// captureOutput runs f with os.Stdout and os.Stderr sent to files and returns what it
// wrote to each.
func captureOutput(t *testing.T, f func()) (stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	outF, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errF, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outF, errF
	defer func() { os.Stdout, os.Stderr = oldOut, oldErr }()
	f()
	outF.Close()
	errF.Close()
	o, _ := os.ReadFile(outF.Name())
	e, _ := os.ReadFile(errF.Name())
	return string(o), string(e)
}

// Without --json and --out, ideal score prints its table (path and image score per
// query) and writes nothing; a mask that marks every pixel is warned about.
func TestScoreTableOnly(t *testing.T) {
	dir, exp := scoreFixtureFiles(t)
	full := image.NewGray(image.Rect(0, 0, 112, 112))
	for i := range full.Pix {
		full.Pix[i] = 255
	}
	writeTestPNG(t, filepath.Join(dir, "full.png"), full)
	p := func(n string) string { return filepath.Join(dir, n) }
	var err error
	stdout, _ := captureOutput(t, func() {
		err = runScore([]string{"--backend", "reference", "--head", headFixture + "head.safetensors", "--normal", p("normal.safetensors"),
			"--abnormal", p("abnormal.safetensors"), "--abnormal-mask", p("mask.png"), p("query.safetensors")})
	})
	if err != nil {
		t.Fatal(err)
	}
	var got float64
	if _, err := fmt.Sscanf(stdout, p("query.safetensors")+"\t%g\n", &got); err != nil {
		t.Fatalf("stdout %q: %v", stdout, err)
	}
	if want := float64(exp["image_score"].Data[0]); math.Abs(got-want) > 3e-5 {
		t.Errorf("image score %v, the authors' code %v", got, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 5 { // normal, abnormal, query, mask.png, full.png: nothing written
		t.Errorf("ideal score without --json/--out wrote files: %v", entries)
	}
	_, stderr := captureOutput(t, func() {
		err = runScore([]string{"--backend", "reference", "--head", headFixture + "head.safetensors", "--normal", p("normal.safetensors"),
			"--abnormal", p("abnormal.safetensors"), "--abnormal-mask", p("full.png"), p("query.safetensors")})
	})
	if err != nil || !strings.Contains(stderr, "marks every pixel as defect") {
		t.Errorf("a mask of every pixel: error %v, stderr %q; want a warning", err, stderr)
	}
}
