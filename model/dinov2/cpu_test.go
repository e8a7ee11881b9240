package dinov2

import (
	"testing"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/imaging"
)

func TestFixtureCPU(t *testing.T) { testFixture(t, cpu.New()) }

// ViT-S/14 at 448×448 (1024 patches) on the fast CPU backend; compare its GFLOP/s
// with BenchmarkViTS14Reference run in the same invocation.
func BenchmarkViTS14CPU(b *testing.B) {
	b.Run("448", func(b *testing.B) { benchForward(b, cpu.New(), 448) })
}

// The whole path of issue 2: input.png through imaging's resize and normalisation,
// then the backbone, against the official features.
func TestFixtureFromPNG(t *testing.T) {
	m, err := Load(fixtureDir+"weights.safetensors", Options{})
	if err != nil {
		t.Fatal(err)
	}
	px, _, _, err := imaging.Preprocess(fixtureDir+"input.png", 98)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Features(cpu.New(), px, 98)
	if err != nil {
		t.Fatal(err)
	}
	_, exp := readFixture(t)
	maxErr, cos := compareFeatures(t, got, exp.Tensors["features"], 1e-3, 0.9999)
	t.Logf("input.png → features: max abs error %.3g, lowest patch cosine %.9f", maxErr, cos)
}
