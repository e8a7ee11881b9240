package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/metrics"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/results"
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
func checkEvalOutputs(t *testing.T, out, stdout string, classes int) evalReport {
	t.Helper()
	var rep evalReport
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
func checkMetricsAgree(t *testing.T, dataDir, out string, rep evalReport, extra ...string) {
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
			pix := imaging.GaussianBlur(imaging.UpsampleBilinear(a, q.Grid, q.Grid, tiff.H, tiff.W), tiff.W, tiff.H, evalSigma)
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
