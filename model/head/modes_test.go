package head

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/tensor"
)

// bruteNormalScore is s_n by the definition: max over pool rows of (1 + cos)/2.
func bruteNormalScore(q *tensor.Dense, pool [][]float32) []float64 {
	out := make([]float64, q.Rows())
	norm := func(x []float32) float64 {
		var s float64
		for _, v := range x {
			s += float64(v) * float64(v)
		}
		return math.Sqrt(s)
	}
	for i := range out {
		qi := q.Row(i)
		best := math.Inf(-1)
		for _, p := range pool {
			var dot float64
			for d := range qi {
				dot += float64(qi[d]) * float64(p[d])
			}
			best = math.Max(best, dot/(norm(qi)*norm(p)))
		}
		out[i] = (1 + best) / 2
	}
	return out
}

func TestNormalOnly(t *testing.T) {
	f := loadFixture(t)
	for _, be := range backends() {
		t.Run(be.Name(), func(t *testing.T) {
			m := New(be, nil) // a = 0 needs no weights
			ep, err := m.NewEpisode([]*tensor.Dense{f.normal}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ep.Close()
			res, err := ep.Score(f.query)
			if err != nil {
				t.Fatal(err)
			}
			// s_n is the same quantity as with abnormal references: the fixture's.
			if d := maxAbsDiff(t, "normal_score", res.NormalScore, f.exp["normal_score"]); d > 1e-4 {
				t.Errorf("normal_score: max abs error %.3g", d)
			}
			for i, sn := range res.NormalScore {
				if res.DeviationScore[i] != 1-sn || math.Abs(float64(res.Map[i]-(1-sn))) > 1e-6 {
					t.Fatalf("patch %d: s_n %v, s_a %v, A %v; want s_a = A = 1 − s_n", i, sn, res.DeviationScore[i], res.Map[i])
				}
			}
			if want := TopMean(res.Map, 1); res.ImageScore != want {
				t.Errorf("image score %v, want the max of A %v (64 patches → top 1)", res.ImageScore, want)
			}
		})
	}
}

func TestNoNormalReferences(t *testing.T) {
	f := loadFixture(t)
	pm := imaging.PatchMask(f.abnMask, 14)
	var pool [][]float32
	for p, d := range pm {
		if !d {
			pool = append(pool, f.abnormal.Row(p))
		}
	}
	for _, be := range backends() {
		t.Run(be.Name(), func(t *testing.T) {
			m := New(be, f.w)
			defer m.Close()
			ep, err := m.NewEpisode(nil, []Abnormal{{Features: f.abnormal, Mask: pm}})
			if err != nil {
				t.Fatal(err)
			}
			defer ep.Close()
			for _, q := range []*tensor.Dense{f.query, f.abnormal} {
				res, err := ep.Score(q)
				if err != nil {
					t.Fatal(err)
				}
				want := bruteNormalScore(q, pool)
				for i, s := range res.NormalScore {
					if math.Abs(float64(s)-want[i]) > 1e-5 {
						t.Fatalf("s_n[%d] = %v, brute force over the %d non-mask patches %v", i, s, len(pool), want[i])
					}
				}
				for i, s := range res.DeviationScore {
					if s < 0 || s > 1 || math.IsNaN(float64(s)) {
						t.Fatalf("s_a[%d] = %v outside [0, 1]", i, s)
					}
				}
			}
			// The abnormal reference scored against itself: non-mask patches find themselves.
			res, _ := ep.Score(f.abnormal)
			for p, d := range pm {
				if !d && math.Abs(float64(res.NormalScore[p])-1) > 1e-6 {
					t.Errorf("non-mask patch %d of the reference has s_n %v, want 1", p, res.NormalScore[p])
				}
			}
		})
	}
}

func TestEmptyMaskFallback(t *testing.T) {
	f := loadFixture(t)
	for _, be := range backends() {
		t.Run(be.Name(), func(t *testing.T) {
			m := New(be, f.w)
			defer m.Close()
			ep, err := m.NewEpisode([]*tensor.Dense{f.normal}, []Abnormal{{Features: f.abnormal, Mask: make([]bool, 64)}})
			if err != nil {
				t.Fatal(err)
			}
			defer ep.Close()
			w := ep.Warnings()
			if len(w) != 1 || !strings.Contains(w[0], "abnormal reference 1") {
				t.Fatalf("warnings %q, want one about abnormal reference 1", w)
			}
			d, err := ep.AbnormalDeviations()
			if err != nil {
				t.Fatal(err)
			}
			best, bestNorm := -1, -1.0
			for p := 0; p < 64; p++ {
				var s float64
				for _, v := range d.Row(p) {
					s += float64(v) * float64(v)
				}
				if s > bestNorm {
					best, bestNorm = p, s
				}
			}
			mask := ep.AbnormalMasks()[0]
			for p, v := range mask {
				if v != (p == best) {
					t.Fatalf("fallback mask: patch %d is %v; want only patch %d (largest ‖d‖; 64 patches → 1)", p, v, best)
				}
			}
			res, err := ep.Score(f.query)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Warnings) != 1 {
				t.Errorf("result warnings %q, want the episode's", res.Warnings)
			}
		})
	}
}

func randomFeatures(rng *rand.Rand, n, c int) *tensor.Dense {
	t := tensor.New(n, c)
	for i := range t.Data {
		t.Data[i] = float32(rng.NormFloat64())
	}
	return t
}

func TestEpisodeErrors(t *testing.T) {
	f := loadFixture(t)
	be := kernels.NewReference()
	m := New(be, f.w)
	rng := rand.New(rand.NewPCG(1, 2))
	pm := make([]bool, 64)
	pm[10] = true
	nan := f.normal.Clone()
	nan.Data[5*384+7] = float32(math.NaN())
	cases := []struct {
		name    string
		normals []*tensor.Dense
		abn     []Abnormal
		want    string
	}{
		{"no references", nil, nil, "at least one"},
		{"wrong width", []*tensor.Dense{randomFeatures(rng, 64, 48)}, nil, "48 wide, the head expects 384"},
		{"not square", []*tensor.Dense{randomFeatures(rng, 60, 384)}, nil, "square grid"},
		{"grids differ", []*tensor.Dense{f.normal, randomFeatures(rng, 49, 384)}, nil, "normal reference 2 has 49 patches"},
		{"mask size", []*tensor.Dense{f.normal}, []Abnormal{{f.abnormal, make([]bool, 49)}}, "mask has 49 patches"},
		{"NaN", []*tensor.Dense{nan}, nil, "non-finite feature value NaN at patch 5, channel 7"},
		{"all masked, n = 0", nil, []Abnormal{{f.abnormal, func() []bool {
			b := make([]bool, 64)
			for i := range b {
				b[i] = true
			}
			return b
		}()}}, "no normal patches"},
	}
	for _, c := range cases {
		_, err := m.NewEpisode(c.normals, c.abn)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "head: ") {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := New(be, nil).NewEpisode(nil, []Abnormal{{f.abnormal, pm}}); err == nil || !strings.Contains(err.Error(), "need head weights") {
		t.Errorf("abnormal without weights: error %v", err)
	}
	ep, err := m.NewEpisode([]*tensor.Dense{f.normal}, []Abnormal{{f.abnormal, pm}})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	for _, c := range []struct {
		q    *tensor.Dense
		want string
	}{
		{randomFeatures(rng, 49, 384), "query is on a 7×7 grid, the references on 8×8"},
		{randomFeatures(rng, 64, 48), "48 wide, want 384"},
		{tensor.New(64, 384, 1), "want [N C]"},
	} {
		if _, err := ep.Score(c.q); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("query %v: error %v, want one containing %q", c.q.Shape, err, c.want)
		}
	}
}

// TestTwoAbnormalCopies: an abnormal reference given twice leaves T* unchanged (each
// attention weight is shared between two equal keys), which holds only if the position
// code and masks are laid out per reference image.
func TestTwoAbnormalCopies(t *testing.T) {
	f := loadFixture(t)
	pm := imaging.PatchMask(f.abnMask, 14)
	for _, be := range backends() {
		t.Run(be.Name(), func(t *testing.T) {
			m := New(be, f.w)
			defer m.Close()
			abn := Abnormal{Features: f.abnormal, Mask: pm}
			ep, err := m.NewEpisode([]*tensor.Dense{f.normal}, []Abnormal{abn, abn})
			if err != nil {
				t.Fatal(err)
			}
			defer ep.Close()
			tstar, err := ep.DeviationVectors()
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(t, "deviation_vectors", tstar.Data, f.exp["deviation_vectors"]); d > 1e-4 {
				t.Errorf("T* with the reference twice: max abs error %.3g", d)
			}
			pos := ep.PositionCode()
			want := f.exp["position_code"].Data
			if d := maxAbsDiff(t, "position_code", pos.Data[len(want):], f.exp["position_code"]); d > 1e-4 {
				t.Errorf("position code of the second copy: max abs error %.3g", d)
			}
			res, err := ep.Score(f.query)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxAbsDiff(t, "anomaly_map", res.Map, f.exp["anomaly_map"]); d > 1e-4 {
				t.Errorf("anomaly map: max abs error %.3g", d)
			}
		})
	}
}
