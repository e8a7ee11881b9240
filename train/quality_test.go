package train

import (
	"context"
	"math"
	"path/filepath"
	"testing"
)

// TestFloat32TrainsLikeFloat64 trains a head on the synthetic source set (tiny
// backbone) in float32 and in float64 with the same seed, and in float64 with
// another seed: the noise. The two precisions must end with the same mean loss well
// within that noise: their difference at most a tenth of the seed's (measured: 2.5e-10
// against 0.092, image scores equal to 8 digits; the per-step difference, 1e-6 relative, compounds over
// the AdamW steps but stays orders of magnitude below what another draw changes).
func TestFloat32TrainsLikeFloat64(t *testing.T) {
	dir, dataDir := runFixture(t)
	cache := filepath.Join(dir, "cache")
	final := func(name string, prec Precision, seed uint64) Losses {
		o := opts(filepath.Join(dir, name+".safetensors"), 2, 8, 4, seed)
		o.Precision = prec
		rep, err := runOn(context.Background(), t, dataDir, cache, o)
		if err != nil {
			t.Fatal(err)
		}
		return rep.Epochs[len(rep.Epochs)-1]
	}
	l32, l64, other := final("f32", Float32, 3), final("f64", Float64, 3), final("f64b", Float64, 4)
	prec, noise := math.Abs(l32.Total()-l64.Total()), math.Abs(other.Total()-l64.Total())
	t.Logf("last epoch's mean loss: float32 %.8f, float64 %.8f (difference %.2g); another seed %.8f (difference %.2g)",
		l32.Total(), l64.Total(), prec, other.Total(), noise)
	t.Logf("image score: float32 %.8f, float64 %.8f, another seed %.8f", l32.ImageScore, l64.ImageScore, other.ImageScore)
	if !(prec <= noise/10) {
		t.Errorf("float32 and float64 differ by %.3g in loss, more than a tenth of the seed's noise %.3g", prec, noise)
	}
	if d := math.Abs(l32.ImageScore - l64.ImageScore); !(d <= 1e-4) {
		t.Errorf("mean image scores differ by %.3g > 1e-4", d)
	}
}
