package metrics

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
)

// close6 reports whether got equals want within 1e-6, with NaN meaning undefined
// on both sides.
func close6(got float64, want *float64) bool {
	if want == nil {
		return math.IsNaN(got)
	}
	return math.Abs(got-*want) <= 1e-6
}

type refCase struct {
	Name     string  `json:"name"`
	ProLimit float64 `json:"pro_limit"`
	Scale    float64 `json:"scale"`
	Classes  []struct {
		Name   string `json:"name"`
		Images []struct {
			W    int    `json:"w"`
			H    int    `json:"h"`
			Map  []int  `json:"map"`
			Mask string `json:"mask"`
		} `json:"images"`
		ImageScores []int `json:"image_scores"`
		Expected    map[string]*float64
	} `json:"classes"`
}

// TestReferenceCases compares every metric with scikit-learn and the official
// MVTec AU-PRO on the cases made by scripts/gen_metric_cases.py.
func TestReferenceCases(t *testing.T) {
	raw, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Cases []refCase }
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, cs := range file.Cases {
		var results []ClassResult
		for _, cl := range cs.Classes {
			acc := NewPixelAccumulator(0)
			var scores []float64
			var labels []bool
			for i, im := range cl.Images {
				m := make([]float32, len(im.Map))
				mask := make([]bool, len(im.Mask))
				maxv := float32(math.Inf(-1))
				for j, v := range im.Map {
					m[j] = float32(v) * float32(cs.Scale)
					maxv = max(maxv, m[j])
				}
				for j := range mask {
					mask[j] = im.Mask[j] == '1'
				}
				if err := acc.Add(im.W, im.H, m, mask); err != nil {
					t.Fatal(err)
				}
				labels = append(labels, strings.Contains(im.Mask, "1"))
				if cl.ImageScores != nil {
					scores = append(scores, float64(cl.ImageScores[i])*cs.Scale)
				} else {
					scores = append(scores, float64(maxv))
				}
			}
			img, err := ImageMetrics(scores, labels)
			if err != nil {
				t.Fatal(err)
			}
			pix, err := acc.Result(cs.ProLimit)
			if err != nil {
				t.Fatal(err)
			}
			r := NewClassResult(cl.Name, img, pix)
			results = append(results, r)
			for i, key := range []string{"i_auroc", "i_ap", "i_f1max", "p_auroc", "p_f1max", "au_pro"} {
				want, ok := cl.Expected[key]
				if !ok {
					t.Fatalf("%s/%s: expected value %s missing", cs.Name, cl.Name, key)
				}
				got := float64(r.Values()[i])
				if !close6(got, want) {
					w := "undefined"
					if want != nil {
						w = fmtf(*want)
					}
					t.Errorf("%s/%s %s = %v, want %s", cs.Name, cl.Name, Names[i], got, w)
				}
			}
			nUndef := 0
			for _, v := range r.Values() {
				if !v.Defined() {
					nUndef++
				}
			}
			if nUndef != len(r.Undefined) {
				t.Errorf("%s/%s: %d undefined values but reasons %q", cs.Name, cl.Name, nUndef, r.Undefined)
			}
		}
		// The mean leaves out undefined classes.
		mean := Mean(results)
		for i, key := range []string{"i_auroc", "i_ap", "i_f1max", "p_auroc", "p_f1max", "au_pro"} {
			var sum float64
			n := 0
			for _, cl := range cs.Classes {
				if v := cl.Expected[key]; v != nil {
					sum += *v
					n++
				}
			}
			var want *float64
			if n > 0 {
				w := sum / float64(n)
				want = &w
			}
			if !close6(float64(mean.Values()[i]), want) {
				t.Errorf("%s: mean %s = %v, want %v over %d classes", cs.Name, Names[i], mean.Values()[i], want, n)
			}
		}
	}
}

func fmtf(f float64) string { b, _ := json.Marshal(f); return string(b) }

func TestImageMetricsByHand(t *testing.T) {
	// The scikit-learn documentation example: AUROC 0.75, AP 0.8333…; the best
	// F1 is at threshold 0.35 (P = 2/3, R = 1).
	r, err := ImageMetrics([]float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.75, 5.0 / 6, 0.8}
	for i, got := range []float64{r.AUROC, r.AP, r.F1Max} {
		if math.Abs(got-want[i]) > 1e-12 {
			t.Errorf("%s = %v, want %v", Names[i], got, want[i])
		}
	}
	// All scores tied: one threshold, AUROC 1/2, AP = precision = 1/2, F1 = 2/3.
	r, _ = ImageMetrics([]float64{1, 1, 1, 1}, []bool{false, true, false, true})
	if r.AUROC != 0.5 || r.AP != 0.5 || math.Abs(r.F1Max-2.0/3) > 1e-15 {
		t.Errorf("tied: %+v", r)
	}
	// −0 and +0 tie.
	r, _ = ImageMetrics([]float64{math.Copysign(0, -1), 0}, []bool{false, true})
	if r.AUROC != 0.5 {
		t.Errorf("−0 vs +0: AUROC %v, want 0.5", r.AUROC)
	}
	// Undefined, not 0 or 1.
	for _, labels := range [][]bool{{false, false}, {true, true}, {}} {
		r, _ = ImageMetrics(make([]float64, len(labels)), labels)
		if !math.IsNaN(r.AUROC) || !math.IsNaN(r.AP) || !math.IsNaN(r.F1Max) || r.UndefinedBecause == "" {
			t.Errorf("labels %v: %+v, want undefined", labels, r)
		}
	}
	if _, err := ImageMetrics([]float64{math.NaN()}, []bool{true}); err == nil {
		t.Error("NaN score accepted")
	}
	if _, err := ImageMetrics([]float64{1}, nil); err == nil {
		t.Error("length mismatch accepted")
	}
}

func TestPixelMetricsByHand(t *testing.T) {
	// One 4×1 map, scores 4 3 2 1, anomalous pixels 0 and 2: two regions of one
	// pixel each (pixel 1 separates them). Positives {4, 2}, negatives {3, 1}:
	// AUROC = 3/4. PRO curve (0,0) (0,½) (½,½) (½,1) (1,1): AU-PRO@0.3 = ½,
	// AU-PRO@1 = ¾. F1: at 4: P=1 R=½ → 2/3; at 2: P=2/3 R=1 → 4/5.
	acc := NewPixelAccumulator(0)
	if err := acc.Add(4, 1, []float32{4, 3, 2, 1}, []bool{true, false, true, false}); err != nil {
		t.Fatal(err)
	}
	r, err := acc.Result(0.3)
	if err != nil {
		t.Fatal(err)
	}
	if r.Regions != 2 || r.AUROC != 0.75 || math.Abs(r.AUPRO-0.5) > 1e-15 || math.Abs(r.F1Max-0.8) > 1e-15 {
		t.Errorf("got %+v", r)
	}
	r, _ = acc.Result(1)
	if math.Abs(r.AUPRO-0.75) > 1e-15 {
		t.Errorf("AU-PRO@1 = %v, want 0.75", r.AUPRO)
	}
	for _, lim := range []float64{0, -1, 1.5, math.NaN()} {
		if _, err := acc.Result(lim); err == nil {
			t.Errorf("limit %v accepted", lim)
		}
	}
	// No anomalous pixel at all: undefined.
	acc = NewPixelAccumulator(4)
	acc.Add(2, 2, []float32{1, 2, 3, 4}, nil)
	r, _ = acc.Result(0.3)
	if !math.IsNaN(r.AUROC) || !math.IsNaN(r.F1Max) || !math.IsNaN(r.AUPRO) || r.UndefinedBecause == "" {
		t.Errorf("no anomalies: %+v", r)
	}
	// Bad input.
	acc = NewPixelAccumulator(0)
	if acc.Add(2, 2, []float32{1, 2, 3}, nil) == nil ||
		acc.Add(2, 2, []float32{1, 2, 3, 4}, []bool{true}) == nil ||
		acc.Add(0, 2, nil, nil) == nil ||
		acc.Add(1, 1, []float32{float32(math.NaN())}, nil) == nil ||
		acc.Add(2, 1, []float32{1, float32(math.NaN())}, []bool{true, false}) == nil {
		t.Error("bad input accepted")
	}
	if r, _ := acc.Result(0.3); r.Pixels != 0 {
		t.Errorf("rejected maps left %d pixels behind", r.Pixels)
	}
}

func TestRegionsEightConnected(t *testing.T) {
	// Diagonal contacts join regions; a gap of one pixel separates them.
	const w, h = 6, 4
	rows := []string{
		"1.....",
		".1..11",
		"..1...",
		"1...1.",
	}
	mask := make([]bool, w*h)
	for y, row := range rows {
		for x := range row {
			mask[y*w+x] = row[x] == '1'
		}
	}
	sizes, _ := labelRegions(mask, w, h, make([]int32, w*h), nil)
	// (0,0)(1,1)(2,2) touch diagonally: one region; (4,1)(5,1) one more;
	// (0,3) and (4,3) touch nothing.
	want := []uint32{3, 2, 1, 1}
	if len(sizes) != len(want) {
		t.Fatalf("sizes %v, want %v", sizes, want)
	}
	for i := range want {
		if sizes[i] != want[i] {
			t.Fatalf("sizes %v, want %v", sizes, want)
		}
	}
}

func TestScoreKeyOrder(t *testing.T) {
	vals := []float32{float32(math.Inf(-1)), -3e38, -1, -1e-45, 0, 1e-45, 1e-38, 0.5, 1, 3e38, float32(math.Inf(1))}
	for i := 1; i < len(vals); i++ {
		if !(scoreKey(vals[i-1]) < scoreKey(vals[i])) {
			t.Errorf("key(%g) ≥ key(%g)", vals[i-1], vals[i])
		}
	}
	if scoreKey(float32(math.Copysign(0, -1))) != scoreKey(0) {
		t.Error("−0 and +0 have different keys")
	}
}
