package viewer

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/imaging"
)

// query returns a features-only query (no image) with grid g and map A = a; s_n = 1 − a, s_a = a/2.
func query(name string, score float32, g int, a []float32) *Query {
	q := &Query{Name: name, Path: name + ".safetensors", ImageScore: score, Grid: g}
	q.Maps[MapA] = a
	for _, v := range a {
		q.Maps[MapSN] = append(q.Maps[MapSN], 1-v)
		q.Maps[MapSA] = append(q.Maps[MapSA], v/2)
	}
	return q
}

func mustNew(t *testing.T, qs ...*Query) *State {
	t.Helper()
	s, err := New(qs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSortAndNavigation(t *testing.T) {
	s := mustNew(t, query("a", 0.2, 1, []float32{0.2}), query("b", 0.9, 1, []float32{0.9}), query("c", 0.5, 1, []float32{0.5}))
	var names string
	for _, q := range s.Queries {
		names += q.Name
	}
	if names != "bca" {
		t.Fatalf("order %q, want worst first bca", names)
	}
	s.Prev()
	if s.Index != 0 {
		t.Errorf("Prev at the start moved to %d", s.Index)
	}
	s.Next()
	s.Next()
	s.Next()
	if s.Index != 2 {
		t.Errorf("Next past the end: %d", s.Index)
	}
	s.First()
	if s.Current().Name != "b" {
		t.Errorf("Home: %s", s.Current().Name)
	}
	s.Last()
	if s.Current().Name != "a" {
		t.Errorf("End: %s", s.Current().Name)
	}
	if _, err := New(nil); err == nil {
		t.Error("New(nil) gave no error")
	}
}

func TestThresholdVerdictsAndMaps(t *testing.T) {
	s := mustNew(t, query("a", 0.2, 1, []float32{0.2}), query("b", 0.6, 1, []float32{1}))
	// A spans [0.2, 1]: the threshold starts halfway, 0.6, and "b" (0.6) fails.
	if math.Abs(float64(s.Threshold-0.6)) > 1e-6 {
		t.Fatalf("threshold %v, want 0.6", s.Threshold)
	}
	if !s.Fails(s.Queries[0]) || s.Fails(s.Queries[1]) {
		t.Error("verdicts wrong at threshold 0.6")
	}
	s.AdjustThreshold(2) // +2·0.05·0.8
	if math.Abs(float64(s.Threshold-0.68)) > 1e-6 {
		t.Errorf("threshold after ++ %v, want 0.68", s.Threshold)
	}
	s.CycleMap() // s_n spans [0, 0.8]; 0.68 is 60 % of A's range → 0.48
	if s.Map != MapSN || math.Abs(float64(s.Threshold-0.48)) > 1e-6 {
		t.Errorf("after m: map %v threshold %v, want s_n 0.48", s.Map, s.Threshold)
	}
	if v := s.VerdictThreshold(); math.Abs(float64(v-0.68)) > 1e-6 || s.Fails(s.Queries[0]) {
		t.Errorf("verdict threshold on s_n: %v, want A's 0.68", v)
	}
	s.CycleMap()
	s.CycleMap()
	if s.Map != MapA {
		t.Errorf("three m presses end on %v", s.Map)
	}
	var names []string
	for range 3 {
		s.CycleColormap()
		names = append(names, s.Colormap.Name())
	}
	if strings.Join(names, ",") != "jet,grey,inferno" {
		t.Errorf("colour maps cycle %v", names)
	}
	s.AdjustOpacity(0.7)
	if s.Opacity != 1 {
		t.Errorf("opacity %v, want clamped to 1", s.Opacity)
	}
	s.AdjustOpacity(-3)
	if s.Opacity != 0 {
		t.Errorf("opacity %v, want clamped to 0", s.Opacity)
	}
}

func TestStrip(t *testing.T) {
	var qs []*Query
	for i := range 6 {
		qs = append(qs, query(string(rune('a'+i)), float32(i)/5, 1, []float32{float32(i) / 5}))
	}
	s := mustNew(t, qs...) // sorted f(1.0) e d c b a(0); threshold 0.5
	describe := func() string {
		var sb strings.Builder
		for _, e := range s.Strip(3) {
			sb.WriteString(e.Query.Name)
			if e.Fails {
				sb.WriteByte('!')
			}
			if e.Current {
				sb.WriteByte('*')
			}
		}
		return sb.String()
	}
	for _, c := range []struct {
		move func()
		want string
	}{{func() {}, "f!*e!d!"}, {s.Next, "f!e!*d!"}, {s.Next, "e!d!*c"}, {s.Last, "cba*"}} {
		c.move()
		if got := describe(); got != c.want {
			t.Errorf("strip %q, want %q", got, c.want)
		}
	}
	if n := len(s.Strip(10)); n != 6 {
		t.Errorf("strip of 10 from 6 queries has %d", n)
	}
}

func TestContour(t *testing.T) {
	// A 3×3 block of ones in a 5×5 map: its 8 rim pixels are the contour, not its centre.
	m := make([]float32, 25)
	for y := 1; y <= 3; y++ {
		for x := 1; x <= 3; x++ {
			m[y*5+x] = 1
		}
	}
	want := "" +
		"....." +
		".###." +
		".#.#." +
		".###." +
		"....."
	if got := pattern(Contour(m, 5, 5, 0.5)); got != want {
		t.Errorf("contour\n%s\nwant\n%s", rows(got, 5), rows(want, 5))
	}
	// A map all above the threshold: the image's edge is the contour.
	all := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
	if got := pattern(Contour(all, 3, 3, 0.5)); got != "####.####" {
		t.Errorf("full map contour %s", got)
	}
	mk := &imaging.Mask{W: 3, H: 3, Pix: []bool{false, true, false, false, true, false, false, false, false}}
	if got := pattern(MaskContour(mk)); got != ".#..#...." {
		t.Errorf("mask contour %s", got)
	}
}

func pattern(b []bool) string {
	var sb strings.Builder
	for _, v := range b {
		if v {
			sb.WriteByte('#')
		} else {
			sb.WriteByte('.')
		}
	}
	return sb.String()
}

func rows(s string, w int) string {
	var out []string
	for i := 0; i < len(s); i += w {
		out = append(out, s[i:i+w])
	}
	return strings.Join(out, "\n")
}

func rgbAt(img *image.RGBA, x, y int) [3]uint8 {
	c := img.RGBAAt(x, y)
	return [3]uint8{c.R, c.G, c.B}
}

func TestCompositeAndRender(t *testing.T) {
	// Grid 2, no image → 32×32; A is 1 in the bottom-right patch only.
	q := query("a", 1, 2, []float32{0, 0, 0, 1})
	s := mustNew(t, q)
	inferno, _ := imaging.LookupColormap("inferno")
	s.Opacity = 1
	s.Threshold = 2 // no contour
	img := s.Composite()
	if img.Rect.Dx() != 32 || img.Rect.Dy() != 32 {
		t.Fatalf("composite %v, want 32×32", img.Rect)
	}
	if got := rgbAt(img, 0, 0); got != inferno.At(0) {
		t.Errorf("(0,0) %v, want inferno(0) %v", got, inferno.At(0))
	}
	if got := rgbAt(img, 31, 31); got != inferno.At(1) {
		t.Errorf("(31,31) %v, want inferno(1) %v", got, inferno.At(1))
	}
	// Half opacity over a black (missing) image halves the colour.
	s.Opacity = 0.5
	hot := inferno.At(1)
	if got := rgbAt(s.Composite(), 31, 31); got != [3]uint8{uint8(math.Round(float64(hot[0]) / 2)), uint8(math.Round(float64(hot[1]) / 2)), uint8(math.Round(float64(hot[2]) / 2))} {
		t.Errorf("half opacity %v of %v", got, hot)
	}
	// Threshold 0.99: only the corner pixel where the upsampled map reaches 1 and its
	// neighbours are lower... the region is the bottom-right corner; its pixels on the
	// image edge are contour pixels.
	s.Threshold = 0.99
	img = s.Composite()
	if got := rgbAt(img, 31, 31); got != ThresholdColour {
		t.Errorf("contour pixel %v, want %v", got, ThresholdColour)
	}
	if got := rgbAt(img, 0, 0); got == ThresholdColour {
		t.Error("(0,0) is on the contour")
	}
	// Ground truth: a mask on the top-left 4×4 block; (0,0) is on its contour.
	q.Mask = imaging.NewMask(32, 32)
	for y := range 4 {
		for x := range 4 {
			q.Mask.Pix[y*32+x] = true
		}
	}
	img = s.Composite()
	if got := rgbAt(img, 0, 0); got != GroundTruthColour {
		t.Errorf("ground-truth pixel %v, want %v", got, GroundTruthColour)
	}
	if got := rgbAt(img, 1, 1); got == GroundTruthColour {
		t.Error("(1,1) is inside the mask, not on its contour")
	}
	// Render at zoom 2, pan (10, 0): screen (5, 5) is background, screen (10+2·31, 2·31) is image (31, 31).
	s.Zoom, s.PanX, s.PanY = 2, 10, 0
	r := s.Render(80, 70)
	if got := rgbAt(r, 5, 5); got != Background {
		t.Errorf("render (5,5) %v, want background", got)
	}
	if got, want := rgbAt(r, 10+62, 62), rgbAt(img, 31, 31); got != want {
		t.Errorf("render (72,62) %v, want image (31,31) %v", got, want)
	}
	if got, want := rgbAt(r, 10+63, 63), rgbAt(img, 31, 31); got != want {
		t.Errorf("render (73,63) %v, want image (31,31) %v", got, want)
	}
	if got := rgbAt(r, 10+64, 64); got != Background {
		t.Errorf("render past the image %v, want background", got)
	}
}

func TestCompositeBlendsImage(t *testing.T) {
	q := query("a", 1, 1, []float32{0.25})
	q.Image = imaging.NewRGB(16, 16)
	for i := range q.Image.Pix {
		q.Image.Pix[i] = 100
	}
	s := mustNew(t, q)
	s.Threshold = 2
	s.Opacity = 0.25
	jet, _ := imaging.LookupColormap("jet")
	s.CycleColormap() // inferno → jet
	// A's range is the one value 0.25 (empty): colours use value 0.
	c := jet.At(0)
	want := [3]uint8{}
	for j := range 3 {
		want[j] = uint8(math.Round(0.75*100 + 0.25*float64(c[j])))
	}
	if got := rgbAt(s.Composite(), 7, 9); got != want {
		t.Errorf("blend %v, want %v", got, want)
	}
}

func TestZoomPanHover(t *testing.T) {
	q := query("a", 1, 2, []float32{0.1, 0.2, 0.3, 0.4})
	s := mustNew(t, q)
	s.Fit(64, 32) // 32×32 image → zoom 1, pan (16, 0)
	if s.Zoom != 1 || s.PanX != 16 || s.PanY != 0 {
		t.Fatalf("fit: zoom %v pan %v,%v", s.Zoom, s.PanX, s.PanY)
	}
	s.ZoomAt(20, 10, 2)
	if s.Zoom != 2 || s.PanX != 12 || s.PanY != -10 {
		t.Errorf("zoom at (20,10): zoom %v pan %v,%v, want 2 12,-10", s.Zoom, s.PanX, s.PanY)
	}
	s.PanBy(4, 10) // pan (16, 0), zoom 2: image (x, y) at screen (16+2x, 2y)
	p, ok := s.PatchAt(16+2*20, 2*5)
	if !ok || p.Row != 0 || p.Col != 1 || p.A != 0.2 || p.SN != 0.8 || p.SA != 0.1 {
		t.Errorf("hover %+v %v, want row 0 col 1 A 0.2 s_n 0.8 s_a 0.1", p, ok)
	}
	if _, ok := s.PatchAt(15, 0); ok {
		t.Error("hover left of the image reported a patch")
	}
	s.ZoomAt(0, 0, 1e9)
	if s.Zoom != 64 {
		t.Errorf("zoom not clamped: %v", s.Zoom)
	}
}

func TestExports(t *testing.T) {
	s := mustNew(t, query("a", 0.25, 1, []float32{0.25}), query("b", 0.75, 1, []float32{0.75}))
	var buf bytes.Buffer
	if err := s.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	want := "path,image_score,verdict,threshold\nb.safetensors,0.75,anomalous,0.5\na.safetensors,0.25,normal,0.5\n"
	if buf.String() != want {
		t.Errorf("CSV\n%s\nwant\n%s", buf.String(), want)
	}
	dir := t.TempDir()
	if err := s.ExportCSV(filepath.Join(dir, "v.csv")); err != nil {
		t.Fatal(err)
	}
	if err := s.ExportPNG(filepath.Join(dir, "v.png")); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "v.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	comp := s.Composite()
	if img.Bounds() != comp.Rect || color.RGBAModel.Convert(img.At(3, 4)) != comp.At(3, 4) {
		t.Error("exported PNG differs from the composite")
	}
	if err := s.ExportPNG(filepath.Join(dir, "missing", "v.png")); err == nil || !strings.HasPrefix(err.Error(), "viewer: ") {
		t.Errorf("export into a missing folder: %v", err)
	}
}

// writeResults writes a score JSON with one image query (16×16 grey, grid 2) and its mask.
func writeResults(t *testing.T, dir string, maskW int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = 128
	}
	writePNG(t, filepath.Join(dir, "q.png"), img)
	m := image.NewGray(image.Rect(0, 0, maskW, 16))
	m.Pix[0] = 255
	writePNG(t, filepath.Join(dir, "q_mask.png"), m)
	js := map[string]any{"queries": []map[string]any{{"path": "q.png", "image_score": 0.5,
		"map": [][]float32{{0, 1}, {0, 0}}, "normal_score": [][]float32{{1, 0}, {1, 1}}, "deviation_score": [][]float32{{0, 1}, {0, 0}}}}}
	data, _ := json.Marshal(js)
	if err := os.WriteFile(filepath.Join(dir, "scores.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	writeResults(t, dir, 16)
	qs, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	q := qs[0]
	if q.Name != "q" || q.Grid != 2 || q.Image == nil || q.Mask == nil || !q.Mask.Pix[0] || q.Mask.Pix[1] ||
		q.Maps[MapA][1] != 1 || q.Maps[MapSN][1] != 0 || q.Maps[MapSA][1] != 1 {
		t.Errorf("loaded %+v", q)
	}
	if _, err := Load(filepath.Join(dir, "scores.json")); err != nil {
		t.Errorf("loading the JSON by name: %v", err)
	}
	// Paths recorded relative to where `ideal score` ran, not to the results folder.
	runDir := t.TempDir()
	writeResults(t, runDir, 16)
	res := filepath.Join(runDir, "results")
	if err := os.Mkdir(res, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(runDir, "scores.json"), filepath.Join(res, "scores.json")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(runDir)
	if qs, err := Load("results"); err != nil || qs[0].Image == nil {
		t.Errorf("path relative to the working directory: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	bad := t.TempDir()
	writeResults(t, bad, 8)
	ragged := t.TempDir()
	writeResults(t, ragged, 16)
	os.WriteFile(filepath.Join(ragged, "scores.json"), []byte(`{"queries":[{"path":"q.png","map":[[0,1],[0]],"normal_score":[[0,1],[0,0]],"deviation_score":[[0,1],[0,0]]}]}`), 0o644)
	corrupt := t.TempDir()
	os.WriteFile(filepath.Join(corrupt, "scores.json"), []byte(`{"queries":[`), 0o644)
	noImage := t.TempDir()
	os.WriteFile(filepath.Join(noImage, "scores.json"), []byte(`{"queries":[{"path":"gone.png","map":[[0]],"normal_score":[[0]],"deviation_score":[[0]]}]}`), 0o644)
	for name, dir := range map[string]string{"missing": filepath.Join(bad, "nope"), "empty folder": t.TempDir(),
		"mask size": bad, "ragged map": ragged, "corrupt JSON": corrupt, "missing image": noImage} {
		if _, err := Load(dir); err == nil || !strings.HasPrefix(err.Error(), "viewer: ") {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

// TestSetQueries: new results (a re-score) re-sort the queries, keep the one shown,
// recompute the colour ranges; the threshold follows the midpoint until it is moved.
func TestSetQueries(t *testing.T) {
	s := mustNew(t, query("a", 0.2, 1, []float32{0.2}), query("b", 0.9, 1, []float32{0.9}))
	s.Next() // "a"
	if s.Threshold != 0.55 {
		t.Fatalf("threshold %v, want the midpoint 0.55", s.Threshold)
	}
	s.SetQueries([]*Query{query("a", 0.95, 1, []float32{0.95}), query("b", 0.5, 1, []float32{0.5}), query("c", 0.1, 1, []float32{0.1})})
	if s.Current().Name != "a" || s.Index != 0 {
		t.Errorf("shown %s at %d, want a (now worst) at 0", s.Current().Name, s.Index)
	}
	if s.lo[MapA] != 0.1 || s.hi[MapA] != 0.95 || s.Threshold != (0.1+0.95)/2 {
		t.Errorf("range %v–%v threshold %v", s.lo[MapA], s.hi[MapA], s.Threshold)
	}
	s.AdjustThreshold(1)
	moved := s.Threshold
	s.SetQueries([]*Query{query("z", 0.3, 1, []float32{0.3})})
	if s.Threshold != moved || s.Current().Name != "z" {
		t.Errorf("after a move: threshold %v (want %v kept), shown %s", s.Threshold, moved, s.Current().Name)
	}
}
