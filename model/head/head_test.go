package head

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

const fixtureDir = "../../testdata/fixtures/ideal-head-g8/"

// fixture holds the ideal-head-g8 inputs and expected outputs (spec §4–§7 run by the
// authors' code on synthetic features).
type fixture struct {
	w                       *Weights
	normal, abnormal, query *tensor.Dense // [64, 384]
	abnMask                 *imaging.Mask // 112×112
	exp                     map[string]*tensor.Dense
}

func loadFixture(t testing.TB) *fixture {
	t.Helper()
	w, err := Load(fixtureDir+"head.safetensors", "")
	if err != nil {
		t.Fatal(err)
	}
	in, err := weights.ReadSafetensors(fixtureDir + "inputs.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	exp, err := weights.ReadSafetensors(fixtureDir + "expected.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	flat := func(name string) *tensor.Dense {
		d := in.Tensors[name]
		return tensor.FromData(d.Data, d.Shape[len(d.Shape)-2], d.Shape[len(d.Shape)-1])
	}
	f := &fixture{w: w, normal: flat("normal_features"), abnormal: flat("abnormal_features"),
		query: flat("query_features"), exp: exp.Tensors}
	m := in.Tensors["abnormal_masks"]
	f.abnMask = imaging.NewMask(m.Shape[2], m.Shape[1])
	for i, v := range m.Data {
		f.abnMask.Pix[i] = v > 0
	}
	return f
}

func maxAbsDiff(t *testing.T, name string, got []float32, want *tensor.Dense) float64 {
	t.Helper()
	if want == nil {
		t.Fatalf("%s: missing from the fixture", name)
	}
	if len(got) != len(want.Data) {
		t.Fatalf("%s: %d values, fixture has %d", name, len(got), len(want.Data))
	}
	var m float64
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want.Data[i]))
		if math.IsNaN(d) {
			d = math.Inf(1)
		}
		m = math.Max(m, d)
	}
	return m
}

// backends returns the backends the fixture test runs on.
func backends() []kernels.Backend {
	return append([]kernels.Backend{kernels.NewReference()}, extraBackends()...)
}

func TestFixture(t *testing.T) {
	f := loadFixture(t)
	pm := imaging.PatchMask(f.abnMask, 14)
	for i, v := range f.exp["abnormal_patch_masks"].Data {
		if pm[i] != (v > 0.5) {
			t.Fatalf("abnormal_patch_masks[%d] = %v, fixture %v", i, pm[i], v)
		}
	}
	for _, be := range backends() {
		t.Run(be.Name(), func(t *testing.T) { checkFixture(t, f, pm, be) })
	}
}

// checkFixture runs the fixture episode and query on be and compares every output
// with the fixture (max abs error ≤ 1e-4).
func checkFixture(t *testing.T, f *fixture, pm []bool, be kernels.Backend) {
	m := New(be, f.w)
	defer m.Close()
	ep, err := m.NewEpisode([]*tensor.Dense{f.normal}, []Abnormal{{Features: f.abnormal, Mask: pm}})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	if w := ep.Warnings(); len(w) != 0 {
		t.Errorf("unexpected warnings %q", w)
	}
	res, err := ep.Score(f.query)
	if err != nil {
		t.Fatal(err)
	}
	dA, err := ep.AbnormalDeviations()
	if err != nil {
		t.Fatal(err)
	}
	tstar, err := ep.DeviationVectors()
	if err != nil {
		t.Fatal(err)
	}
	dq, err := ep.Deviations(f.query)
	if err != nil {
		t.Fatal(err)
	}
	il := res.ImageLogits()
	pl := res.PixelLogits(f.abnMask.W)
	got := []struct {
		name string
		v    []float32
	}{
		{"normal_score", res.NormalScore},
		{"abnormal_nve", dA.Data},
		{"query_nve", dq.Data},
		{"position_code", ep.PositionCode().Data},
		{"deviation_vectors", tstar.Data},
		{"anomaly_map", res.Map},
		{"image_score", []float32{res.ImageScore}},
		{"image_logits", il[:]},
		{"pixel_logits", append(append([]float32(nil), pl[0]...), pl[1]...)},
	}
	var report []string
	for _, g := range got {
		d := maxAbsDiff(t, g.name, g.v, f.exp[g.name])
		report = append(report, fmt.Sprintf("%s %.2g", g.name, d))
		if d > 1e-4 {
			t.Errorf("%s: max abs error %.3g > 1e-4", g.name, d)
		}
	}
	t.Logf("max abs errors: %s", strings.Join(report, ", "))
}
