//go:build cgo && !js

package head

import (
	"testing"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/gpu/gputest"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/tensor"
)

// TestFixtureGPU runs the fixture on the OpenGL backend (skipped without a GL 4.3
// context; see gputest).
func TestFixtureGPU(t *testing.T) {
	be := gputest.New(t)
	f := loadFixture(t)
	checkFixture(t, f, imaging.PatchMask(f.abnMask, 14), be)
}

// TestTopK64GPU: a head file with topk = 64 (NVE k = 64, beyond the GL kernel's
// k ≤ 32) runs on the GPU backend, whose NVE then takes the CPU path, and gives the
// CPU backend's episode and scores.
func TestTopK64GPU(t *testing.T) {
	be := gputest.New(t)
	f := loadFixture(t)
	w := *f.w
	w.TopK = 64 // the fixture's 64 normal patches: k = 64
	pm := imaging.PatchMask(f.abnMask, 14)
	run := func(be kernels.Backend) (*Result, *tensor.Dense) {
		m := New(be, &w)
		defer m.Close()
		ep, err := m.NewEpisode([]*tensor.Dense{f.normal}, []Abnormal{{Features: f.abnormal, Mask: pm}})
		if err != nil {
			t.Fatal(err)
		}
		defer ep.Close()
		if ep.k != 64 {
			t.Fatalf("episode k = %d, want 64", ep.k)
		}
		res, err := ep.Score(f.query)
		if err != nil {
			t.Fatal(err)
		}
		tstar, err := ep.DeviationVectors()
		if err != nil {
			t.Fatal(err)
		}
		return res, tstar
	}
	want, wantT := run(cpu.New())
	got, gotT := run(be)
	for _, c := range []struct {
		name      string
		got, want []float32
	}{
		{"deviation_vectors", gotT.Data, wantT.Data},
		{"normal_score", got.NormalScore, want.NormalScore},
		{"deviation_score", got.DeviationScore, want.DeviationScore},
		{"anomaly_map", got.Map, want.Map},
		{"image_score", []float32{got.ImageScore}, []float32{want.ImageScore}},
	} {
		if d := maxAbsDiff(t, c.name, c.got, tensor.FromData(c.want, len(c.want))); d > 1e-4 {
			t.Errorf("%s: max abs difference %.3g from the CPU backend > 1e-4", c.name, d)
		}
	}
}
