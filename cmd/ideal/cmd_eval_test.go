package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/eval"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/metrics"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/results"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

// evalFixture writes a small synthetic data set (2 classes at 112×112) and a fresh
// head of the tiny backbone's width, once per test.
func evalFixture(t *testing.T) (dir, dataDir, headPath string) {
	t.Helper()
	dir = t.TempDir()
	dataDir = filepath.Join(dir, "data")
	if rc := run([]string{"synth", "-q", "--out", dataDir, "--size", "112", "--classes", "fabric,nut",
		"--train", "2", "--test", "3", "--per-defect", "1", "--seed", "5"}); rc != 0 {
		t.Fatalf("synth: exit status %d", rc)
	}
	headPath = filepath.Join(dir, "head.safetensors")
	if rc := run([]string{"init-head", "-o", headPath, "--channels", "48", "--seed", "2"}); rc != 0 {
		t.Fatalf("init-head: exit status %d", rc)
	}
	return dir, dataDir, headPath
}

// runEvalCapture runs ideal eval and returns its stdout.
func runEvalCapture(t *testing.T, args ...string) string {
	t.Helper()
	o, err := parseEvalFlags(append([]string{"-q"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := evaluate(o, &out, io.Discard); err != nil {
		t.Fatalf("eval %q: %v", args, err)
	}
	return out.String()
}

// checkEvalOutputs reads metrics.json and recomputes every class's image metrics
// from scores.csv.
func checkEvalOutputs(t *testing.T, out, stdout string, classes int) eval.Report {
	t.Helper()
	var rep eval.Report
	b, err := os.ReadFile(filepath.Join(out, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(out, "scores.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "class,path,label,defect type,image score" {
		t.Fatalf("scores.csv header %q", got)
	}
	scores, labels := map[string][]float64{}, map[string][]bool{}
	for _, r := range recs[1:] {
		v, err := strconv.ParseFloat(r[4], 32)
		if err != nil {
			t.Fatal(err)
		}
		scores[r[0]] = append(scores[r[0]], v)
		labels[r[0]] = append(labels[r[0]], r[2] == "1")
		if (r[2] == "1") != (r[3] != "good") {
			t.Errorf("row %q: label and defect type disagree", r)
		}
	}
	if len(rep.Classes) != classes {
		t.Fatalf("%d classes in metrics.json", len(rep.Classes))
	}
	for _, c := range rep.Classes {
		want, err := metrics.ImageMetrics(scores[c.Class], labels[c.Class])
		if err != nil {
			t.Fatal(err)
		}
		if float64(c.IAUROC) != want.AUROC || float64(c.IAP) != want.AP {
			t.Errorf("%s: metrics.json I-AUROC %v I-AP %v; recomputed from scores.csv %v %v", c.Class, c.IAUROC, c.IAP, want.AUROC, want.AP)
		}
		// The printed table: "<class>  <I-AUROC %>  ...".
		line := fmt.Sprintf("\n%-7s  %7.2f", c.Class, 100*want.AUROC)
		if !strings.Contains(stdout, line) {
			t.Errorf("stdout lacks %q:\n%s", line, stdout)
		}
		if !c.PAUROC.Defined() || c.PAUROC < 0.5 {
			t.Errorf("%s: P-AUROC %v", c.Class, c.PAUROC)
		}
	}
	return rep
}

func TestEvalEndToEnd(t *testing.T) {
	dir, dataDir, headPath := evalFixture(t)
	backbone := tinyDir + "weights.safetensors"
	common := []string{"--data", dataDir, "--backbone", backbone, "--size", "112", "--seed", "1"}

	// Normal-only baseline, with maps for ideal metrics.
	base := filepath.Join(dir, "base")
	stdout := runEvalCapture(t, append(common, "--a-shot", "0", "--out", base, "--save-maps")...)
	rep := checkEvalOutputs(t, base, stdout, 2)
	if rep.CacheHits != 0 || rep.CacheMiss == 0 || rep.Mode != "normal-only" {
		t.Errorf("first run: %d hits, %d misses, mode %q", rep.CacheHits, rep.CacheMiss, rep.Mode)
	}
	if !strings.Contains(stdout, "Mean") || !strings.Contains(stdout, "after smoothing") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if n := len(readDirNames(t, filepath.Join(base, "overlays", "nut"))); n == 0 || n > 4 {
		t.Errorf("%d overlays for nut", n)
	}

	// ideal metrics on the saved maps agrees on every metric.
	checkMetricsAgree(t, dataDir, base, rep)
	checkEvalView(t, base, true)

	// IDEAL with a head: the backbone features all come from the cache.
	ideal := filepath.Join(dir, "ideal")
	stdout = runEvalCapture(t, append(common, "--head", headPath, "--a-shot", "1", "--out", ideal, "--cache", filepath.Join(base, "cache"), "--save-maps")...)
	rep = checkEvalOutputs(t, ideal, stdout, 2)
	if m := checkEvalView(t, ideal, true); len(m.Episodes[0].Abnormal) != 1 || m.Head == "" {
		t.Errorf("IDEAL run's view.json: abnormal references %+v, head %q", m.Episodes[0].Abnormal, m.Head)
	}
	if rep.CacheMiss != 0 || rep.CacheHits == 0 || rep.Mode != "IDEAL" {
		t.Errorf("second run: %d hits, %d misses, mode %q", rep.CacheHits, rep.CacheMiss, rep.Mode)
	}
	// The abnormal references are test images without a map: ideal metrics refuses
	// them unless told to leave them out, and then agrees with ideal eval.
	if !strings.Contains(stdout, "--skip-missing") {
		t.Errorf("eval does not point to --skip-missing:\n%s", stdout)
	}
	o, err := parseMetricsFlags([]string{"-q", "--data", dataDir, "--maps", filepath.Join(ideal, "maps")})
	if err != nil {
		t.Fatal(err)
	}
	if err := evaluateMaps(o, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "have no map") {
		t.Errorf("ideal metrics without --skip-missing: %v, want a missing-map error", err)
	}
	checkMetricsAgree(t, dataDir, ideal, rep, "--skip-missing")
}

// checkMetricsAgree runs ideal metrics on the maps and scores that ideal eval wrote
// to out and checks that both report the same numbers for every class.
func checkMetricsAgree(t *testing.T, dataDir, out string, rep eval.Report, extra ...string) {
	t.Helper()
	jsonPath := filepath.Join(out, "m.json")
	o, err := parseMetricsFlags(append([]string{"-q", "--data", dataDir, "--maps", filepath.Join(out, "maps"),
		"--scores", filepath.Join(out, "scores.csv"), "--json", jsonPath}, extra...))
	if err != nil {
		t.Fatal(err)
	}
	var mout bytes.Buffer
	if err := evaluateMaps(o, &mout, io.Discard); err != nil {
		t.Fatal(err)
	}
	var mrep metricsReport
	b, _ := os.ReadFile(jsonPath)
	if err := json.Unmarshal(b, &mrep); err != nil {
		t.Fatal(err)
	}
	for i, c := range rep.Classes {
		m := mrep.Classes[i]
		if m.Class != c.Class || m.PAUROC != c.PAUROC || m.AUPRO != c.AUPRO || m.IAUROC != c.IAUROC {
			t.Errorf("ideal metrics %+v\n   ideal eval %+v", m, c)
		}
	}
}

func TestEvalSkipsBadImage(t *testing.T) {
	dir, dataDir, _ := evalFixture(t)
	bad := filepath.Join(dataDir, "fabric", "test", "good", "001.png")
	if err := os.WriteFile(bad, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	stdout := runEvalCapture(t, "--data", dataDir, "--backbone", tinyDir+"weights.safetensors", "--size", "112",
		"--a-shot", "0", "--n-shot", "1", "--out", out, "--overlays", "0")
	rep := checkEvalOutputs(t, out, stdout, 2)
	if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0], bad) {
		t.Fatalf("skipped %q, want only %s", rep.Skipped, bad)
	}
	if !strings.Contains(stdout, "1 images left out") {
		t.Errorf("stdout does not report the bad image:\n%s", stdout)
	}
	if rep.Classes[0].Images == 0 || math.IsNaN(float64(rep.Classes[0].IAUROC)) {
		t.Errorf("fabric lost its results: %+v", rep.Classes[0])
	}

	// Unreadable references leave their class out; the other class is still evaluated.
	trains, _ := filepath.Glob(filepath.Join(dataDir, "fabric", "train", "good", "*.png"))
	for _, p := range trains {
		os.WriteFile(p, nil, 0o644)
	}
	stdout = runEvalCapture(t, "--data", dataDir, "--backbone", tinyDir+"weights.safetensors", "--size", "112",
		"--a-shot", "0", "--out", out, "--overlays", "0", "--cache", filepath.Join(dir, "c2"))
	rep = checkEvalOutputs(t, out, stdout, 1)
	if rep.Classes[0].Class != "nut" || !strings.Contains(strings.Join(rep.Skipped, "\n"), "class fabric: normal reference") {
		t.Errorf("classes %v, skipped %q", rep.Classes[0].Class, rep.Skipped)
	}
}

func TestEvalUsage(t *testing.T) {
	for _, bad := range [][]string{
		{"eval"},
		{"eval", "--data", "d", "--backbone", "b"},                                                 // no --out
		{"eval", "--data", "d", "--backbone", "b", "--out", "o"},                                   // a-shot 1 without --head
		{"eval", "--data", "d", "--backbone", "b", "--out", "o", "--a-shot", "0", "--n-shot", "0"}, // no references
		{"eval", "--data", "d", "--backbone", "b", "--out", "o", "--a-shot", "0", "x"},             // stray argument
	} {
		if rc := run(bad); rc != 2 {
			t.Errorf("%q: exit status %d, want 2", bad, rc)
		}
	}
}

func readDirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestInitBackbone(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bb.safetensors")
	if rc := run([]string{"init-backbone", "-o", p, "--seed", "3", "--width", "64", "--depth", "2", "--heads", "2", "--grid", "4"}); rc != 0 {
		t.Fatalf("exit status %d", rc)
	}
	m, err := dinov2.Load(p, dinov2.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Config; c.Width != 64 || c.Depth != 2 || c.Heads != 2 || c.Patch != 14 || c.PosGrid != 4 || c.Naming != "huggingface" {
		t.Fatalf("config %+v", c)
	}
	f1, _ := os.ReadFile(p)
	p2 := p + "2"
	run([]string{"init-backbone", "-o", p2, "--seed", "3", "--width", "64", "--depth", "2", "--heads", "2", "--grid", "4"})
	f2, _ := os.ReadFile(p2)
	if !bytes.Equal(f1, f2) {
		t.Error("the same seed gave different files")
	}
	if rc := run([]string{"init-backbone", "-o", p, "--width", "64", "--heads", "3"}); rc != 2 {
		t.Errorf("width not a multiple of heads: exit status %d, want 2", rc)
	}
}

// scoreRow is one row of scores.csv.
type scoreRow struct {
	class, path, label, defect string
	score                      float32
}

func readEvalScores(t *testing.T, out string) []scoreRow {
	t.Helper()
	f, err := os.Open(filepath.Join(out, "scores.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []scoreRow
	for _, r := range recs[1:] {
		v, err := strconv.ParseFloat(r[4], 32)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, scoreRow{r[0], r[1], r[2], r[3], float32(v)})
	}
	return rows
}

// checkEvalView checks the results folder of an ideal eval run: results.Read accepts
// it, it holds one episode per class with the queries of scores.csv (same order, path,
// label and score), an anomalous query's mask exists, and (with saved maps) the maps
// file's A, up-sampled and smoothed, is the saved S×S map.
func checkEvalView(t *testing.T, out string, savedMaps bool) *results.Manifest {
	t.Helper()
	m, err := results.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	// The feature cache it names (for ideal-view's first mask edit) holds entries.
	if entries, _ := filepath.Glob(filepath.Join(m.Cache, "*", "*.safetensors")); m.Cache == "" || len(entries) == 0 {
		t.Errorf("view.json names the feature cache %q, which holds %d entries", m.Cache, len(entries))
	}
	rows := readEvalScores(t, out)
	var i int
	for _, e := range m.Episodes {
		if len(e.Normal)+len(e.Abnormal) == 0 {
			t.Errorf("class %s: no references", e.Class)
		}
		for _, r := range e.Abnormal {
			if _, err := os.Stat(r.Mask); err != nil {
				t.Errorf("class %s: abnormal reference mask: %v", e.Class, err)
			}
		}
		for _, q := range e.Queries {
			if i >= len(rows) {
				t.Fatalf("view.json has more queries than scores.csv (%d)", len(rows))
			}
			r := rows[i]
			i++
			abs, _ := filepath.Abs(r.path)
			if e.Class != r.class || q.Path != abs || q.ImageScore != r.score || strconv.Itoa(q.Label) != r.label {
				t.Errorf("view.json %s %+v; scores.csv %+v", e.Class, q, r)
			}
			if q.Label == 1 {
				if _, err := os.Stat(q.Mask); err != nil {
					t.Errorf("%s: ground truth: %v", q.Path, err)
				}
			} else if q.Mask != "" {
				t.Errorf("%s: a normal query with a mask %s", q.Path, q.Mask)
			}
			a, _, _, err := q.LoadMaps()
			if err != nil {
				t.Fatal(err)
			}
			if !savedMaps {
				continue
			}
			tiff, _, err := mapio.Read(filepath.Join(out, "maps", mapio.RelPath(e.Class, r.defect, r.path)))
			if err != nil {
				t.Fatal(err)
			}
			pix := imaging.GaussianBlur(imaging.UpsampleBilinear(a, q.Grid, q.Grid, tiff.H, tiff.W), tiff.W, tiff.H, ideal.Sigma)
			for k := range pix {
				if pix[k] != tiff.Pix[k] {
					t.Fatalf("%s: the maps file's A, smoothed, differs from the saved map at pixel %d: %v vs %v", q.Path, k, pix[k], tiff.Pix[k])
				}
			}
		}
	}
	if i != len(rows) {
		t.Errorf("view.json has %d queries, scores.csv %d", i, len(rows))
	}
	return m
}

// copyTree copies the regular files under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if e.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// hookBackend is the cpu backend with one difference: it shows every upload to
// uploadHook, and when the hook says so, the next download comes out with a NaN in
// its middle. The backbone uploads an image's preprocessed pixels at the start of its
// forward pass and downloads the features at its end, so a hook that knows an image's
// pixels can poison that image's features (no real image makes them non-finite) or
// act when the backbone runs on it. It is registered as --backend test-hooks.
type hookBackend struct {
	kernels.Backend
	poison bool
}

var uploadHook atomic.Pointer[func(pixels []float32) (poison bool)]

func init() {
	kernels.Register("test-hooks", func() (kernels.Backend, error) { return &hookBackend{Backend: cpu.New()}, nil })
}

func (b *hookBackend) Upload(d []float32, shape ...int) kernels.Tensor {
	if h := uploadHook.Load(); h != nil && (*h)(d) {
		b.poison = true
	}
	return b.Backend.Upload(d, shape...)
}

func (b *hookBackend) Download(t kernels.Tensor) ([]float32, error) {
	d, err := b.Backend.Download(t)
	if b.poison && err == nil {
		d = slices.Clone(d)
		d[len(d)/2] = float32(math.NaN())
		b.poison = false
	}
	return d, err
}

// onImage calls f when --backend test-hooks runs the backbone on the image at path
// (at input side size), for one test; f's result poisons its features.
func onImage(t *testing.T, path string, size int, f func() (poison bool)) {
	img, err := imaging.LoadRGB(path)
	if err != nil {
		t.Fatal(err)
	}
	px := imaging.PreprocessRGB(img, size)
	h := func(d []float32) bool { return slices.Equal(d, px) && f() }
	uploadHook.Store(&h)
	t.Cleanup(func() { uploadHook.Store(nil) })
}

// evalRun runs ideal eval in-process and returns its error, stdout and stderr.
func evalRun(t *testing.T, args ...string) (error, string, string) {
	t.Helper()
	o, err := parseEvalFlags(append([]string{"-q"}, args...))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	err = evaluate(o, &out, &errOut)
	return err, out.String(), errOut.String()
}

func readEvalReport(t *testing.T, out string) eval.Report {
	t.Helper()
	var rep eval.Report
	b, err := os.ReadFile(filepath.Join(out, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// relRows returns scores.csv with paths relative to the data root.
func relRows(t *testing.T, out, root string) []scoreRow {
	t.Helper()
	rows := readEvalScores(t, out)
	for i := range rows {
		rel, err := filepath.Rel(root, rows[i].path)
		if err != nil {
			t.Fatal(err)
		}
		rows[i].path = rel
	}
	return rows
}

// TestEvalBadInputs feeds ideal eval a data set with one corrupt (truncated) image,
// one anomalous image whose mask is missing and one image whose features are not
// finite, and checks that each is reported with its path and reason and that the
// healthy images' scores and every class's metrics equal those of a run on the same
// data set without these three images.
//
// No real image makes the backbone's features non-finite (images decode to 8 or 16
// bits per sample, normalised to a few units), so the NaN is injected by a backend
// (hookBackend, --backend test-hooks) into the features the backbone computed for one
// image.
func TestEvalBadInputs(t *testing.T) {
	dir := t.TempDir()
	damaged, clean := filepath.Join(dir, "damaged"), filepath.Join(dir, "clean")
	if rc := run([]string{"synth", "-q", "--out", damaged, "--size", "112", "--classes", "fabric,nut",
		"--train", "2", "--test", "3", "--per-defect", "1", "--seed", "5"}); rc != 0 {
		t.Fatalf("synth: exit status %d", rc)
	}
	headPath := filepath.Join(dir, "head.safetensors")
	if rc := run([]string{"init-head", "-o", headPath, "--channels", "48", "--seed", "2"}); rc != 0 {
		t.Fatalf("init-head: exit status %d", rc)
	}
	copyTree(t, damaged, clean)
	corrupt := filepath.Join("fabric", "test", "good", "001.png")
	noMask := filepath.Join("fabric", "test", "crack", "000.png")
	nan := filepath.Join("nut", "test", "good", "002.png")
	// Damage: a truncated PNG, a deleted mask, NaN features.
	b, err := os.ReadFile(filepath.Join(damaged, corrupt))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(damaged, corrupt), b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(damaged, "fabric", "ground_truth", "crack", "000_mask.png")); err != nil {
		t.Fatal(err)
	}
	onImage(t, filepath.Join(damaged, nan), 112, func() bool { return true })
	// The same data set without the three images.
	for _, p := range []string{corrupt, noMask, nan, filepath.Join("fabric", "ground_truth", "crack", "000_mask.png")} {
		if err := os.Remove(filepath.Join(clean, p)); err != nil {
			t.Fatal(err)
		}
	}

	common := []string{"--backbone", tinyDir + "weights.safetensors", "--size", "112", "--seed", "1", "--head", headPath, "--overlays", "0", "--backend", "test-hooks"}
	outD, outC := filepath.Join(dir, "outD"), filepath.Join(dir, "outC")
	err, stdout, stderr := evalRun(t, append(common, "--data", damaged, "--out", outD)...)
	if err != nil {
		t.Fatal(err)
	}
	rep := checkEvalOutputs(t, outD, stdout, 2)
	want := map[string]string{
		corrupt: "imaging: ",
		noMask:  data.ErrNoMask.Error(),
		nan:     "features are not finite",
	}
	if len(rep.Skipped) != len(want) {
		t.Errorf("skipped %q, want 3 entries", rep.Skipped)
	}
	t.Logf("skipped: %q", rep.Skipped)
	for p, reason := range want {
		abs := filepath.Join(damaged, p)
		found := false
		for _, s := range rep.Skipped {
			found = found || strings.HasPrefix(s, abs+": ") && strings.Contains(s, reason)
		}
		if !found {
			t.Errorf("metrics.json skipped %q lacks %s with %q", rep.Skipped, abs, reason)
		}
		if !strings.Contains(stderr, "skipped "+abs+": ") {
			t.Errorf("stderr does not name %s:\n%s", abs, stderr)
		}
	}
	if !strings.Contains(stdout, "3 images left out") {
		t.Errorf("stdout:\n%s", stdout)
	}
	view := checkEvalView(t, outD, false)

	err, stdout, _ = evalRun(t, append(common, "--data", clean, "--out", outC)...)
	if err != nil {
		t.Fatal(err)
	}
	repC := checkEvalOutputs(t, outC, stdout, 2)
	if len(repC.Skipped) != 0 {
		t.Errorf("the clean run skipped %q", repC.Skipped)
	}
	// Same references (the comparison means something only then).
	viewC := checkEvalView(t, outC, false)
	for i, e := range view.Episodes {
		r1, _ := filepath.Rel(damaged, e.Abnormal[0].Path)
		r2, _ := filepath.Rel(clean, viewC.Episodes[i].Abnormal[0].Path)
		n1, _ := filepath.Rel(damaged, e.Normal[0])
		n2, _ := filepath.Rel(clean, viewC.Episodes[i].Normal[0])
		if r1 != r2 || n1 != n2 {
			t.Fatalf("class %s: references %s, %s in the damaged run, %s, %s in the clean one", e.Class, n1, r1, n2, r2)
		}
	}
	rowsD, rowsC := relRows(t, outD, damaged), relRows(t, outC, clean)
	if fmt.Sprint(rowsD) != fmt.Sprint(rowsC) {
		t.Errorf("scores differ:\ndamaged %v\nclean   %v", rowsD, rowsC)
	}
	if !reflect.DeepEqual(rep.Classes, repC.Classes) || !reflect.DeepEqual(rep.Mean, repC.Mean) {
		t.Errorf("metrics differ:\ndamaged %+v\nclean   %+v", rep.Classes, repC.Classes)
	}
}

// TestEvalNonFiniteMaps runs a head whose weights overflow float32 (every map comes out
// NaN): every query is reported and left out, no NaN reaches the metrics (they are
// undefined, not NaN), and no view.json is written for classes without a query.
func TestEvalNonFiniteMaps(t *testing.T) {
	dir, dataDir, headPath := evalFixture(t)
	f, err := weights.ReadSafetensors(headPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range f.Tensors {
		for i := range ts.Data {
			ts.Data[i] *= 1e30
		}
	}
	if err := weights.WriteSafetensors(headPath, f.Tensors, f.Metadata); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "o")
	err, _, stderr := evalRun(t, "--data", dataDir, "--backbone", tinyDir+"weights.safetensors", "--size", "112", "--head", headPath, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	rep := readEvalReport(t, out)
	if len(rep.Skipped) == 0 {
		t.Fatal("nothing skipped")
	}
	for _, s := range rep.Skipped {
		if !strings.HasSuffix(s, ": its anomaly maps are not finite (NaN or Inf)") {
			t.Errorf("skipped %q", s)
		}
	}
	if !strings.Contains(stderr, "anomaly maps are not finite") {
		t.Errorf("stderr:\n%s", stderr)
	}
	for _, c := range rep.Classes {
		if c.Images != 0 || c.IAUROC.Defined() || c.PAUROC.Defined() {
			t.Errorf("class %+v", c)
		}
	}
	if _, err := os.Stat(filepath.Join(out, results.FileName)); !os.IsNotExist(err) {
		t.Errorf("view.json with no query: %v", err)
	}
}

// TestEvalStopOnError: the first bad image stops the run with exit status 1, after the
// classes finished before it were written.
func TestEvalStopOnError(t *testing.T) {
	dir, dataDir, _ := evalFixture(t)
	bad := filepath.Join(dataDir, "nut", "test", "good", "001.png") // nut comes after fabric
	if err := os.WriteFile(bad, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	args := []string{"eval", "-q", "--data", dataDir, "--backbone", tinyDir + "weights.safetensors", "--size", "112",
		"--a-shot", "0", "--out", out, "--stop-on-error"}
	if rc := run(args); rc != 1 {
		t.Fatalf("exit status %d, want 1", rc)
	}
	err, _, _ := evalRun(t, args[2:]...)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "--stop-on-error") ||
		!strings.Contains(err.Error(), "hold the 1 of 2 classes finished before") {
		t.Errorf("error %v", err)
	}
	rep := readEvalReport(t, out)
	if len(rep.Classes) != 1 || rep.Classes[0].Class != "fabric" || len(rep.Skipped) != 1 || !strings.HasPrefix(rep.Skipped[0], bad+": ") {
		t.Errorf("metrics.json: classes %+v, skipped %q", rep.Classes, rep.Skipped)
	}
	if m := checkEvalView(t, out, false); len(m.Episodes) != 1 {
		t.Errorf("view.json: %d episodes, want fabric only", len(m.Episodes))
	}
	checkNoTempFiles(t, out)

	// A problem found when the data set is opened (an anomalous image without its
	// mask) stops the run before any class.
	if err := os.WriteFile(bad, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	masks, _ := filepath.Glob(filepath.Join(dataDir, "fabric", "ground_truth", "*", "*_mask.png"))
	if err := os.Remove(masks[0]); err != nil {
		t.Fatal(err)
	}
	err, _, _ = evalRun(t, append(args[2:], "--out", filepath.Join(dir, "out2"))...)
	if err == nil || !strings.Contains(err.Error(), data.ErrNoMask.Error()) {
		t.Errorf("error %v, want the missing mask", err)
	}
	if rep := readEvalReport(t, filepath.Join(dir, "out2")); len(rep.Classes) != 0 || len(rep.Skipped) != 1 {
		t.Errorf("metrics.json: %d classes, skipped %q", len(rep.Classes), rep.Skipped)
	}
	if _, err := os.Stat(filepath.Join(dir, "out2", results.FileName)); !os.IsNotExist(err) {
		t.Errorf("view.json without a finished class: %v", err)
	}
}

// checkNoTempFiles fails when a temporary file of an atomic write is left under dir.
func checkNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && (isTempName(e.Name()) || strings.Contains(e.Name(), ".tmp")) {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

// checkCache checks that every entry of a feature cache is a complete safetensors
// file (entries are written atomically or not at all) and returns their count.
func checkCache(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		if _, err := weights.ReadSafetensors(p); err != nil {
			t.Errorf("cache entry: %v", err)
		}
		n++
		return nil
	})
	checkNoTempFiles(t, dir)
	return n
}

// TestEvalRecomputesNonFiniteCacheEntry: a cache entry holding NaN (written by a
// broken backend, or damaged) is reported and recomputed, not used.
func TestEvalRecomputesNonFiniteCacheEntry(t *testing.T) {
	dir, dataDir, _ := evalFixture(t)
	args := []string{"--data", dataDir, "--backbone", tinyDir + "weights.safetensors", "--size", "112", "--a-shot", "0", "--overlays", "0"}
	out1, out2, cache := filepath.Join(dir, "o1"), filepath.Join(dir, "o2"), filepath.Join(dir, "cache")
	if err, _, _ := evalRun(t, append(args, "--out", out1, "--cache", cache)...); err != nil {
		t.Fatal(err)
	}
	entries, _ := filepath.Glob(filepath.Join(cache, "*", "*.safetensors"))
	if len(entries) == 0 {
		t.Fatal("no cache entries")
	}
	f, err := weights.ReadSafetensors(entries[0])
	if err != nil {
		t.Fatal(err)
	}
	f.Tensors["features"].Data[3] = float32(math.Inf(1))
	if err := weights.WriteSafetensors(entries[0], f.Tensors, f.Metadata); err != nil {
		t.Fatal(err)
	}
	err, _, stderr := evalRun(t, append(args, "--out", out2, "--cache", cache)...)
	if err != nil {
		t.Fatal(err)
	}
	rep1, rep2 := readEvalReport(t, out1), readEvalReport(t, out2)
	if rep2.CacheMiss != 1 || !strings.Contains(stderr, "non-finite features; recomputing it") || len(rep2.Skipped) != 0 {
		t.Errorf("%d misses, skipped %q, stderr:\n%s", rep2.CacheMiss, rep2.Skipped, stderr)
	}
	if !reflect.DeepEqual(rep1.Classes, rep2.Classes) {
		t.Errorf("metrics differ after the recomputation:\n%+v\n%+v", rep1.Classes, rep2.Classes)
	}
	if f, err := weights.ReadSafetensors(entries[0]); err != nil || tensor.NonFinite(f.Tensors["features"].Data) >= 0 {
		t.Errorf("the entry was not replaced: %v", err)
	}
}

// TestEvalInterruptResume stops a run in the middle of its second class (as SIGINT
// does: its context is cancelled, the cause errInterrupted, when the backbone runs on
// a query of nut), checks the outputs hold the first class, and resumes: the rerun
// takes the features computed before from the cache and gives the metrics of an
// uninterrupted run.
func TestEvalInterruptResume(t *testing.T) {
	dir, dataDir, headPath := evalFixture(t)
	args := []string{"-q", "--data", dataDir, "--backbone", tinyDir + "weights.safetensors", "--size", "112", "--head", headPath, "--overlays", "0"}
	out := filepath.Join(dir, "out")
	o, err := parseEvalFlags(append(args, "--out", out, "--backend", "test-hooks"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	o.ctx = ctx
	onImage(t, filepath.Join(dataDir, "nut", "test", "good", "002.png"), 112, func() bool { cancel(errInterrupted); return false })
	err = evaluate(o, io.Discard, io.Discard)
	if !errors.Is(err, errInterrupted) || !strings.Contains(err.Error(), "rerun the same command to resume") {
		t.Fatalf("error %v, want an interruption", err)
	}
	t.Log(err)
	rep := readEvalReport(t, out)
	if len(rep.Classes) != 1 || rep.Classes[0].Class != "fabric" {
		t.Fatalf("metrics.json holds %d classes, want fabric only", len(rep.Classes))
	}
	if m := checkEvalView(t, out, false); len(m.Episodes) != 1 {
		t.Errorf("view.json: %d episodes", len(m.Episodes))
	}
	checkNoTempFiles(t, out)
	cached := checkCache(t, filepath.Join(out, "cache"))
	if cached != rep.CacheMiss {
		t.Errorf("%d cache entries, %d features computed", cached, rep.CacheMiss)
	}

	// Resume, and compare with a run that was never interrupted.
	err, _, _ = evalRun(t, append(args[1:], "--out", out)...)
	if err != nil {
		t.Fatal(err)
	}
	resumed := readEvalReport(t, out)
	if resumed.CacheHits != cached {
		t.Errorf("resumed run: %d cache hits, want the %d features computed before the interrupt", resumed.CacheHits, cached)
	}
	whole := filepath.Join(dir, "whole")
	if err, _, _ := evalRun(t, append(args[1:], "--out", whole)...); err != nil {
		t.Fatal(err)
	}
	ref := readEvalReport(t, whole)
	if !reflect.DeepEqual(resumed.Classes, ref.Classes) || resumed.CacheHits+resumed.CacheMiss != ref.CacheMiss {
		t.Errorf("resumed %+v\nuninterrupted %+v", resumed.Classes, ref.Classes)
	}
	if a, b := readEvalScores(t, out), readEvalScores(t, whole); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("scores differ:\n%v\n%v", a, b)
	}
}
