package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/metrics"
)

// metricsTree is a generated MVTec-layout data set with one map per test image.
type metricsTree struct {
	root, maps string
	classes    []string
	// per class, per test image (in the data set's order: sorted by path)
	imgs map[string][]metricsTestImage
}

type metricsTestImage struct {
	rel       string // path below root
	w, h      int
	scores    []float32
	mask      []bool // nil for normal images
	anomalous bool
}

func writeMetricsPNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// makeMetricsTree writes three classes: alpha (24×20, two defect types, masks
// with several and diagonally touching regions), beta (16×16) and gamma (only
// normal test images: its metrics are undefined). Map scores are multiples of
// 1/8 (many ties), raised inside the defects.
func makeMetricsTree(t *testing.T) *metricsTree {
	dir := t.TempDir()
	tr := &metricsTree{root: filepath.Join(dir, "data"), maps: filepath.Join(dir, "maps"),
		classes: []string{"alpha", "beta", "gamma"}, imgs: map[string][]metricsTestImage{}}
	rng := rand.New(rand.NewPCG(7, 8))
	spec := map[string]struct {
		w, h  int
		types map[string]int // test images per type
	}{
		"alpha": {24, 20, map[string]int{"good": 4, "crack": 3, "hole": 2}},
		"beta":  {16, 16, map[string]int{"good": 3, "dent": 3}},
		"gamma": {12, 10, map[string]int{"good": 3}},
	}
	for _, c := range tr.classes {
		sp := spec[c]
		gray := image.NewGray(image.Rect(0, 0, sp.w, sp.h))
		writeMetricsPNG(t, filepath.Join(tr.root, c, "train", "good", "000.png"), gray)
		// Types in sorted order, images 000.png…: the order data.Open lists them.
		for _, typ := range []string{"crack", "dent", "good", "hole"} {
			for i := range sp.types[typ] {
				name := fmt.Sprintf("%03d", i)
				ti := metricsTestImage{rel: filepath.Join(c, "test", typ, name+".png"), w: sp.w, h: sp.h,
					scores: make([]float32, sp.w*sp.h)}
				writeMetricsPNG(t, filepath.Join(tr.root, ti.rel), gray)
				if typ != "good" {
					ti.anomalous = true
					ti.mask = make([]bool, sp.w*sp.h)
					mimg := image.NewGray(image.Rect(0, 0, sp.w, sp.h))
					for range 1 + rng.IntN(3) {
						x0, y0 := rng.IntN(sp.w-3), rng.IntN(sp.h-3)
						for k := range 3 { // a diagonal run: one 8-connected region
							ti.mask[(y0+k)*sp.w+x0+k] = true
						}
						ti.mask[y0*sp.w+x0+1] = rng.IntN(2) == 0
					}
					for i, m := range ti.mask {
						if m {
							mimg.SetGray(i%sp.w, i/sp.w, color.Gray{255})
						}
					}
					writeMetricsPNG(t, filepath.Join(tr.root, c, "ground_truth", typ, name+"_mask.png"), mimg)
				}
				for i := range ti.scores {
					v := float32(rng.IntN(8)) / 8
					if ti.mask != nil && ti.mask[i] {
						v += float32(rng.IntN(6)) / 8
					}
					ti.scores[i] = v
				}
				if err := mapio.Write(filepath.Join(tr.maps, c, "test", typ, name+".tiff"),
					&mapio.Map{W: sp.w, H: sp.h, Pix: ti.scores}); err != nil {
					t.Fatal(err)
				}
				tr.imgs[c] = append(tr.imgs[c], ti)
			}
		}
	}
	return tr
}

// expected computes the results straight from the metrics package; imageScore
// gives each image's score (nil: the map maximum).
func (tr *metricsTree) expected(t *testing.T, limit float64, imageScore func(c string, i int) float64) []metrics.ClassResult {
	var out []metrics.ClassResult
	for _, c := range tr.classes {
		acc := metrics.NewPixelAccumulator(0)
		authors := metrics.NewAuthorsPROAccumulator()
		var scores []float64
		var labels []bool
		for i, im := range tr.imgs[c] {
			if err := acc.Add(im.w, im.h, im.scores, im.mask); err != nil {
				t.Fatal(err)
			}
			if err := authors.Add(im.w, im.h, im.scores, im.mask); err != nil {
				t.Fatal(err)
			}
			s := float64((&mapio.Map{W: im.w, H: im.h, Pix: im.scores}).Max())
			if imageScore != nil {
				s = imageScore(c, i)
			}
			scores, labels = append(scores, s), append(labels, im.anomalous)
		}
		img, err := metrics.ImageMetrics(scores, labels)
		if err != nil {
			t.Fatal(err)
		}
		pix, err := acc.Result(limit)
		if err != nil {
			t.Fatal(err)
		}
		cr := metrics.NewClassResult(c, img, pix)
		cr.SetAuthorsPRO(authors.Result())
		out = append(out, cr)
	}
	return out
}

// runMetricsForTest parses args as the command line does (adding -q) and runs
// the evaluation with captured output.
func runMetricsForTest(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	opts, err := parseMetricsFlags(append([]string{"-q"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	err = evaluateMaps(opts, &o, &e)
	return o.String(), e.String(), err
}

func checkReport(t *testing.T, stdout, jsonPath string, want []metrics.ClassResult) {
	t.Helper()
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep metricsReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Classes) != len(want) {
		t.Fatalf("JSON has %d classes, want %d", len(rep.Classes), len(want))
	}
	same := func(a, b metrics.Value) bool { return a == b || (!a.Defined() && !b.Defined()) }
	lines := strings.Split(stdout, "\n")
	for i, w := range want {
		g := rep.Classes[i]
		if g.Class != w.Class || g.Pixels != w.Pixels || g.Regions != w.Regions || g.AnomalousImages != w.AnomalousImages {
			t.Errorf("class %d: got %+v, want %+v", i, g, w)
		}
		for k, v := range w.Values() {
			if !same(g.Values()[k], v) {
				t.Errorf("%s %s: JSON %v, metrics package %v", w.Class, metrics.Names[k], g.Values()[k], v)
			}
		}
		if !same(authorsPRO(g.AuthorsPRO), *w.AuthorsPRO) {
			t.Errorf("%s %s: JSON %v, metrics package %v", w.Class, metrics.AuthorsPROName, authorsPRO(g.AuthorsPRO), *w.AuthorsPRO)
		}
		// The printed row: the class name, the six values and the authors' P-PRO
		// in percent.
		fields := strings.Fields(lines[1+i])
		if len(fields) != 8 || fields[0] != w.Class {
			t.Fatalf("table row %q", lines[1+i])
		}
		six := w.Values()
		for k, v := range append(six[:], *w.AuthorsPRO) {
			cell := "n/a"
			if v.Defined() {
				cell = strconv.FormatFloat(100*float64(v), 'f', 2, 64)
			}
			if name := append(metrics.Names[:], metrics.AuthorsPROName)[k]; fields[1+k] != cell {
				t.Errorf("%s %s printed %s, want %s", w.Class, name, fields[1+k], cell)
			}
		}
	}
	mean := metrics.Mean(want)
	for k, v := range mean.Values() {
		if !same(rep.Mean.Values()[k], v) {
			t.Errorf("mean %s: JSON %v, want %v", metrics.Names[k], rep.Mean.Values()[k], v)
		}
	}
	if !same(authorsPRO(rep.Mean.AuthorsPRO), *mean.AuthorsPRO) {
		t.Errorf("mean %s: JSON %v, want %v", metrics.AuthorsPROName, authorsPRO(rep.Mean.AuthorsPRO), *mean.AuthorsPRO)
	}
	if !strings.HasPrefix(lines[1+len(want)], "Mean ") {
		t.Errorf("no mean row: %q", lines[1+len(want)])
	}
}

// authorsPRO is the authors' P-PRO as read back from JSON: null (undefined) reads
// as nil.
func authorsPRO(v *metrics.Value) metrics.Value {
	if v == nil {
		return metrics.Value(math.NaN())
	}
	return *v
}

func TestMetricsCommand(t *testing.T) {
	tr := makeMetricsTree(t)
	js := filepath.Join(t.TempDir(), "m.json")
	out, _, err := runMetricsForTest(t, "--data", tr.root, "--maps", tr.maps, "--json", js)
	if err != nil {
		t.Fatal(err)
	}
	want := tr.expected(t, 0.3, nil)
	t.Log("\n" + out)
	checkReport(t, out, js, want)
	if !strings.Contains(out, "n/a: gamma: I-AUROC, I-AP, I-F1max: no anomalous images; P-AUROC, P-F1max, AU-PRO, P-PRO (authors): no anomalous pixels") ||
		!strings.Contains(out, "mean: I-AUROC, I-AP, I-F1max, P-AUROC, P-F1max, AU-PRO, P-PRO (authors): 1 of 3 classes left out (gamma)") {
		t.Errorf("undefined metrics not explained:\n%s", out)
	}
	if want[0].Regions < 4 || !want[0].PAUROC.Defined() || want[2].PAUROC.Defined() {
		t.Fatalf("the generated tree does not exercise what it should: %+v", want)
	}

	// Another PRO limit and a class subset.
	out, _, err = runMetricsForTest(t, "--data", tr.root, "--maps", tr.maps, "--json", js, "--pro-limit", "0.05", "--classes", "beta")
	if err != nil {
		t.Fatal(err)
	}
	tr.classes = []string{"beta"}
	checkReport(t, out, js, tr.expected(t, 0.05, nil))
	if !strings.Contains(out, "AU-PRO@0.05") {
		t.Errorf("header does not name the limit:\n%s", out)
	}
}

func TestMetricsCommandScoresCSV(t *testing.T) {
	tr := makeMetricsTree(t)
	var csv strings.Builder
	csv.WriteString("class,name,label,image score\n")
	score := func(c string, i int) float64 { return float64((i*7)%5) / 4 }
	for _, c := range tr.classes {
		for i, im := range tr.imgs[c] {
			// type/name without extension: the name alone is ambiguous in MVTec.
			rel := filepath.ToSlash(im.rel)
			parts := strings.Split(rel, "/")
			fmt.Fprintf(&csv, "%s,%s,%v,%g\n", c, strings.TrimSuffix(strings.Join(parts[2:], "/"), ".png"), im.anomalous, score(c, i))
		}
	}
	csv.WriteString("delta,good/000,false,1\n") // a class not evaluated: a warning
	p := filepath.Join(t.TempDir(), "scores.csv")
	os.WriteFile(p, []byte(csv.String()), 0o644)
	js := filepath.Join(t.TempDir(), "m.json")
	out, errOut, err := runMetricsForTest(t, "--data", tr.root, "--maps", tr.maps, "--json", js, "--scores", p)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, out, js, tr.expected(t, 0.3, score))
	if !strings.Contains(errOut, "1 rows") {
		t.Errorf("unmatched row not reported: %q", errOut)
	}
	// An ambiguous name is an error.
	os.WriteFile(p, []byte("class,name,score\nalpha,000,1\n"), 0o644)
	if _, _, err := runMetricsForTest(t, "--data", tr.root, "--maps", tr.maps, "--scores", p); err == nil ||
		!strings.Contains(err.Error(), "several test images") {
		t.Errorf("ambiguous name: %v", err)
	}
	// A missing score is an error.
	os.WriteFile(p, []byte("class,path,score\nalpha,crack/000.png,1\n"), 0o644)
	if _, _, err := runMetricsForTest(t, "--data", tr.root, "--maps", tr.maps, "--scores", p); err == nil ||
		!strings.Contains(err.Error(), "no score for") {
		t.Errorf("missing scores: %v", err)
	}
}

func TestMetricsCommandMapProblems(t *testing.T) {
	tr := makeMetricsTree(t)
	// An extra map is a warning.
	extra := filepath.Join(tr.maps, "alpha", "test", "good", "099.tiff")
	if err := mapio.Write(extra, &mapio.Map{W: 1, H: 1, Pix: []float32{0}}); err != nil {
		t.Fatal(err)
	}
	_, errOut, err := runMetricsForTest(t, "--data", tr.root, "--maps", tr.maps)
	if err != nil || !strings.Contains(errOut, "1 map files match no test image") || !strings.Contains(errOut, "099.tiff") {
		t.Errorf("extra map: %v, %q", err, errOut)
	}
	// A map of the wrong size is an error naming both sizes, unless --resize.
	small := filepath.Join(tr.maps, "beta", "test", "dent", "001.tiff")
	if err := mapio.Write(small, &mapio.Map{W: 8, H: 8, Pix: make([]float32, 64)}); err != nil {
		t.Fatal(err)
	}
	_, _, err = runMetricsForTest(t, "--data", tr.root, "--maps", tr.maps)
	if err == nil || !strings.Contains(err.Error(), "8×8") || !strings.Contains(err.Error(), "16×16") || !strings.Contains(err.Error(), "--resize") {
		t.Errorf("size mismatch: %v", err)
	}
	out, _, err := runMetricsForTest(t, "--data", tr.root, "--maps", tr.maps, "--resize")
	if err != nil || !strings.Contains(out, "1 maps were resized bilinearly") {
		t.Errorf("--resize: %v\n%s", err, out)
	}
	// A 16-bit PNG map is read and said so.
	os.Remove(small)
	img := image.NewGray16(image.Rect(0, 0, 16, 16))
	writeMetricsPNG(t, strings.TrimSuffix(small, ".tiff")+".png", img)
	out, _, err = runMetricsForTest(t, "--data", tr.root, "--maps", tr.maps)
	if err != nil || !strings.Contains(out, "1 16-bit PNG") || !strings.Contains(out, "grey levels") {
		t.Errorf("PNG map: %v\n%s", err, out)
	}
	// Missing maps are an error listing them.
	os.Remove(strings.TrimSuffix(small, ".tiff") + ".png")
	hole1 := filepath.Join(tr.maps, "alpha", "test", "hole", "001.tiff")
	hole1Map, _, _ := mapio.Read(hole1)
	os.Remove(hole1)
	_, _, err = runMetricsForTest(t, "--data", tr.root, "--maps", tr.maps)
	if err == nil || !strings.Contains(err.Error(), "2 test images have no map") ||
		!strings.Contains(err.Error(), filepath.Join("alpha", "test", "hole", "001.tiff")) ||
		!strings.Contains(err.Error(), filepath.Join("beta", "test", "dent", "001.tiff")) {
		t.Errorf("missing maps: %v", err)
	}
	mapio.Write(hole1, hole1Map)
	mapio.Write(small, &mapio.Map{W: 16, H: 16, Pix: make([]float32, 256)})
	// An anomalous image without its mask is left out by the reader, with a warning.
	os.Remove(filepath.Join(tr.root, "alpha", "ground_truth", "hole", "001_mask.png"))
	out, errOut, err = runMetricsForTest(t, "--data", tr.root, "--maps", tr.maps)
	if err != nil || !strings.Contains(errOut, "1 test images left out") || !strings.Contains(errOut, "2 map files match no test image") {
		t.Errorf("missing mask: %v\n%s", err, errOut)
	}
	// A corrupt map names the file.
	bad := filepath.Join(tr.maps, "gamma", "test", "good", "000.tiff")
	os.WriteFile(bad, []byte("II*\x00garbage"), 0o644)
	_, _, err = runMetricsForTest(t, "--data", tr.root, "--maps", tr.maps, "--classes", "gamma")
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("corrupt map: %v", err)
	}
}

func TestMetricsCommandFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--maps", "x"},
		{"--data", "x"},
		{"--data", "x", "--maps", "y", "--pro-limit", "0"},
		{"--data", "x", "--maps", "y", "extra"},
	} {
		if err := runMetrics(args); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%q: %v", args, err)
		}
	}
}

// peakRSSGiB is the process's peak resident memory (VmHWM); 0 without /proc.
func peakRSSGiB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / (1 << 20)
		}
	}
	return 0
}

// BenchmarkMetricsCommandMVTecSize runs ideal metrics end to end on a generated
// data set of MVTec AD's test-set size: 15 classes, 1 725 test images (467 normal,
// 1 258 anomalous with disc-shaped defects) and 1 725 float32 TIFF maps, all
// 448×448 (≈346 M pixels, 1.4 GB of maps on disk). Generating the files is not
// timed; it reports the process's peak resident memory.
// Run: go test ./cmd/ideal -run '^$' -bench MetricsCommandMVTecSize -benchtime 1x
func BenchmarkMetricsCommandMVTecSize(b *testing.B) {
	const classes, perClass, side = 15, 115, 448
	dir := b.TempDir()
	root, maps := filepath.Join(dir, "data"), filepath.Join(dir, "maps")
	rng := rand.New(rand.NewPCG(11, 12))
	grey := image.NewGray(image.Rect(0, 0, side, side))
	var imgPNG bytes.Buffer
	png.Encode(&imgPNG, grey)
	write := func(p string, data []byte) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	m := &mapio.Map{W: side, H: side, Pix: make([]float32, side*side)}
	for c := range classes {
		cname := fmt.Sprintf("class%02d", c)
		write(filepath.Join(root, cname, "train", "good", "000.png"), imgPNG.Bytes())
		for i := range perClass {
			typ := "good"
			if i >= 31 { // 31 of 115 normal, as in MVTec AD overall
				typ = fmt.Sprintf("type%d", i%4)
			}
			name := fmt.Sprintf("%03d", i)
			write(filepath.Join(root, cname, "test", typ, name+".png"), imgPNG.Bytes())
			mask := image.NewGray(image.Rect(0, 0, side, side))
			if typ != "good" {
				for range 1 + rng.IntN(3) {
					cx, cy, r := rng.IntN(side), rng.IntN(side), 3+rng.IntN(40)
					for y := max(cy-r, 0); y < min(cy+r, side); y++ {
						for x := max(cx-r, 0); x < min(cx+r, side); x++ {
							if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r {
								mask.Pix[y*side+x] = 255
							}
						}
					}
				}
				var mb bytes.Buffer
				png.Encode(&mb, mask)
				write(filepath.Join(root, cname, "ground_truth", typ, name+"_mask.png"), mb.Bytes())
			}
			for k := range m.Pix {
				v := float32(rng.Uint32()>>8) * 0x1p-24
				if mask.Pix[k] != 0 {
					v += 0.25
				}
				m.Pix[k] = v
			}
			if err := mapio.Write(filepath.Join(maps, cname, "test", typ, name+".tiff"), m); err != nil {
				b.Fatal(err)
			}
		}
	}
	opts, err := parseMetricsFlags([]string{"-q", "--data", root, "--maps", maps})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var out bytes.Buffer
		if err := evaluateMaps(opts, &out, io.Discard); err != nil {
			b.Fatal(err)
		}
		b.Log("\n" + out.String())
	}
	b.ReportMetric(peakRSSGiB(), "peak-RSS-GiB")
}
