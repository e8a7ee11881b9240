package eval_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/data/synth"
	"github.com/ideal-fsad/ideal/eval"
	"github.com/ideal-fsad/ideal/metrics"
	"github.com/ideal-fsad/ideal/model/convert"
	"github.com/ideal-fsad/ideal/weights"
)

// officialFixture is the authors' own evaluation (main_infer.py, utils/eva_metrics.py)
// run on a small synthetic data set with a tiny TorchScript trace of their model (see
// its README.json). The data set is not stored: it is regenerated from expected.json's
// synth arguments and checked against their SHA-256.
const officialFixture = "../testdata/fixtures/official-eval"

// officialExpected is the part of expected.json the parity test reads.
type officialExpected struct {
	Data struct {
		Synth struct {
			SHA256 map[string]string `json:"sha256"`
		} `json:"synth"`
	} `json:"data"`
	Classes []officialMetrics `json:"classes"`
	Mean    officialMetrics   `json:"mean"`
	Images  []struct {
		Class string  `json:"class"`
		Path  string  `json:"path"`
		Label int     `json:"label"`
		Score float64 `json:"image_score"`
	} `json:"images"`
}

type officialMetrics struct {
	Class  string  `json:"class"`
	IAUROC float64 `json:"i_auroc"`
	IAP    float64 `json:"i_ap"`
	PAUROC float64 `json:"p_auroc"`
	PPRO   float64 `json:"p_pro"`
}

// officialData regenerates the fixture's data set (ideal synth --seed 10 --size 224
// --classes fabric,metal,nut --train 1 --test 3 --per-defect 1) and checks every file
// against expected.json.
func officialData(t *testing.T, want map[string]string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "DATA", "MVTecAD")
	err := synth.Generate(root, synth.Options{Size: 224, Seed: 10, Classes: []string{"fabric", "metal", "nut"}, Train: 1, TestGood: 3, PerDefect: 1})
	if err != nil {
		t.Fatal(err)
	}
	for rel, sum := range want {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != sum {
			t.Fatalf("regenerated %s differs from the fixture's data set (SHA-256 %x, want %s)", rel, h, sum)
		}
	}
	return root
}

// officialDetector converts the trace's backbone and head (ideal convert trace.pt
// --part backbone|head) and builds the detector at 448.
func officialDetector(t *testing.T) *ideal.Detector {
	t.Helper()
	f, err := weights.Load(filepath.Join(officialFixture, "trace.pt"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths := map[string]string{}
	for _, part := range []string{convert.Backbone, convert.Head} {
		r, err := convert.File(f, "trace.pt", convert.Options{Part: part})
		if err != nil {
			t.Fatal(err)
		}
		paths[part] = filepath.Join(dir, part+".safetensors")
		if err := r.Write(paths[part]); err != nil {
			t.Fatal(err)
		}
	}
	det, err := ideal.New(ideal.Options{Backbone: paths[convert.Backbone], Head: paths[convert.Head], Size: 448})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { det.Close() })
	return det
}

// TestOfficialParity: ideal eval with the trace's backbone and head, 1 normal + 1
// abnormal reference (the authors' reference folder), reproduces every per-class and
// mean I-AUROC, I-AP, P-AUROC and the authors' P-PRO that their main_infer.py
// computed, the queries of every class and every image score, within 1e-4.
func TestOfficialParity(t *testing.T) {
	if testing.Short() {
		t.Skip("scores 21 queries at 448 (about 10 s)")
	}
	raw, err := os.ReadFile(filepath.Join(officialFixture, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want officialExpected
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	root := officialData(t, want.Data.Synth.SHA256)
	ds, err := data.Open(root, data.FormatMVTec, nil)
	if err != nil {
		t.Fatal(err)
	}
	det := officialDetector(t)
	rec := &recorder{}
	start := time.Now()
	rep, err := eval.Run(context.Background(), det, ds, eval.Options{NShot: 1, AShot: 1, Setting: data.General,
		Refs: filepath.Join(officialFixture, "refs", "MVTecAD")}, rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d queries in %.1fs", len(rec.queries), time.Since(start).Seconds())
	const tol = 1e-4
	checkOfficialScores(t, root, want, rec.queries, tol)
	if len(rep.Classes) != len(want.Classes) {
		t.Fatalf("%d classes, want %d", len(rep.Classes), len(want.Classes))
	}
	var worst [4]float64
	for i, w := range want.Classes {
		worst = checkOfficialMetrics(t, w, officialOf(rep.Classes[i].Class, rep.Classes[i].Values(), rep.Classes[i].AuthorsPRO), tol, worst)
	}
	worst = checkOfficialMetrics(t, want.Mean, officialOf("", rep.Mean.Values(), rep.Mean.AuthorsPRO), tol, worst)
	t.Logf("largest differences from the authors' numbers: I-AUROC %.3g, I-AP %.3g, P-AUROC %.3g, P-PRO %.3g", worst[0], worst[1], worst[2], worst[3])
	checkOfficialTable(t, &eval.MapsReport{Classes: rep.Classes, Mean: rep.Mean})
}

// checkOfficialTable: --table authors prints the table of official_stdout.txt, byte
// for byte (from its "Product" line to its blank line after "Mean").
func checkOfficialTable(t *testing.T, rep *eval.MapsReport) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(officialFixture, "official_stdout.txt"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	i := strings.Index(s, "Product ")
	j := strings.Index(s, "======>")
	if i < 0 || j < i {
		t.Fatal("official_stdout.txt has no table")
	}
	var b strings.Builder
	rep.WriteAuthorsTable(&b)
	if got, want := b.String(), "\n"+s[i:j]; got != want {
		t.Errorf("authors' table:\n%q\nofficial_stdout.txt:\n%q", got, want)
	}
}

// officialOf picks the four metrics of the authors' table from a result.
func officialOf(class string, six [6]metrics.Value, authors *metrics.Value) officialMetrics {
	m := officialMetrics{Class: class, IAUROC: float64(six[0]), IAP: float64(six[1]), PAUROC: float64(six[3]), PPRO: math.NaN()}
	if authors != nil {
		m.PPRO = float64(*authors)
	}
	return m
}

// checkOfficialMetrics compares the four metrics and returns the largest differences.
func checkOfficialMetrics(t *testing.T, want, got officialMetrics, tol float64, worst [4]float64) [4]float64 {
	t.Helper()
	names := [4]string{"I-AUROC", "I-AP", "P-AUROC", "P-PRO (authors)"}
	w := [4]float64{want.IAUROC, want.IAP, want.PAUROC, want.PPRO}
	g := [4]float64{got.IAUROC, got.IAP, got.PAUROC, got.PPRO}
	name := want.Class
	if name == "" {
		name = "mean"
	}
	for k := range w {
		d := math.Abs(g[k] - w[k])
		if !(d <= tol) {
			t.Errorf("%s %s = %.8f, the authors' %.8f (difference %.3g)", name, names[k], g[k], w[k], d)
		}
		worst[k] = max(worst[k], d)
	}
	return worst
}

// checkOfficialScores compares the queries of every class (as sets of paths relative
// to the data set's root) and their image scores.
func checkOfficialScores(t *testing.T, root string, want officialExpected, got []*eval.Query, tol float64) {
	t.Helper()
	wantPaths, gotPaths := map[string][]string{}, map[string][]string{}
	score := map[string]float64{}
	for _, im := range want.Images {
		wantPaths[im.Class] = append(wantPaths[im.Class], im.Path)
		score[im.Path] = im.Score
	}
	var worst float64
	for _, q := range got {
		rel, err := filepath.Rel(root, q.Sample.Path)
		if err != nil {
			t.Fatal(err)
		}
		rel = filepath.ToSlash(rel)
		gotPaths[q.Class] = append(gotPaths[q.Class], rel)
		w, ok := score[rel]
		if !ok {
			continue
		}
		d := math.Abs(float64(q.Result.ImageScore) - w)
		if !(d <= tol) {
			t.Errorf("%s: image score %.8f, the authors' %.8f", rel, q.Result.ImageScore, w)
		}
		worst = max(worst, d)
	}
	for c, w := range wantPaths {
		g := gotPaths[c]
		slices.Sort(w)
		slices.Sort(g)
		if !slices.Equal(g, w) {
			t.Errorf("class %s: queries %v, the authors' %v", c, g, w)
		}
	}
	t.Logf("largest image-score difference %.3g over %d queries", worst, len(got))
}
