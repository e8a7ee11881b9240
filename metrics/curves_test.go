package metrics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// trapezoid integrates a curve by the trapezoidal rule.
func trapezoid(c []CurvePoint) float64 {
	var a float64
	for i := 1; i < len(c); i++ {
		a += (c[i].X - c[i-1].X) * (c[i].Y + c[i-1].Y) / 2
	}
	return a
}

func TestImageCurvesAgreeWithImageMetrics(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	scores := make([]float64, 200)
	labels := make([]bool, len(scores))
	for i := range scores {
		labels[i] = i%3 == 0
		scores[i] = math.Round(rng.Float64()*50) / 50 // ties
		if labels[i] {
			scores[i] += 0.3
		}
	}
	m, err := ImageMetrics(scores, labels)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ImageCurvesOf(scores, labels)
	if err != nil {
		t.Fatal(err)
	}
	if got := trapezoid(c.ROC); math.Abs(got-m.AUROC) > 1e-12 {
		t.Errorf("ROC area %v, I-AUROC %v", got, m.AUROC)
	}
	if math.Abs(float64(c.F1Max)-m.F1Max) > 1e-12 {
		t.Errorf("F1max %v, ImageMetrics %v", c.F1Max, m.F1Max)
	}
	tp, fp, pos := 0.0, 0.0, 0.0
	for i, s := range scores {
		if labels[i] {
			pos++
		}
		if s >= float64(c.F1MaxThreshold) && labels[i] {
			tp++
		} else if s >= float64(c.F1MaxThreshold) {
			fp++
		}
	}
	if f := 2 * tp / (tp + fp + pos); math.Abs(f-m.F1Max) > 1e-12 {
		t.Errorf("F1 at the threshold %v: %v, want %v", c.F1MaxThreshold, f, m.F1Max)
	}
	if last := c.ROC[len(c.ROC)-1]; last != (CurvePoint{1, 1}) {
		t.Errorf("ROC ends at %v", last)
	}
}

func TestPixelCurvesAgreeWithResult(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a := NewPixelAccumulator(0)
	const w, h = 32, 32
	for img := range 4 {
		pix := make([]float32, w*h)
		mask := make([]bool, w*h)
		for i := range pix {
			x, y := i%w, i/w
			mask[i] = img > 0 && x > 8 && x < 16+img && y > 10 && y < 20
			pix[i] = rng.Float32()
			if mask[i] {
				pix[i] += 0.5
			}
		}
		if img == 0 {
			mask = nil
		}
		if err := a.Add(w, h, pix, mask); err != nil {
			t.Fatal(err)
		}
	}
	r, c, err := a.ResultCurves(0.3)
	if err != nil {
		t.Fatal(err)
	}
	if got := trapezoid(c.ROC); math.Abs(got-r.AUROC) > 2e-3 {
		t.Errorf("ROC area %v, P-AUROC %v", got, r.AUROC)
	}
	if got := trapezoid(c.PRO) / 0.3; math.Abs(got-r.AUPRO) > 5e-3 {
		t.Errorf("PRO area %v, AU-PRO %v", got, r.AUPRO)
	}
	if last := c.PRO[len(c.PRO)-1]; math.Abs(last.X-0.3) > 1e-9 {
		t.Errorf("PRO curve ends at %v, want FPR 0.3", last)
	}
	if f := float64(c.F1MaxThreshold); math.IsNaN(f) || f < 0.4 || f > 1.1 {
		t.Errorf("F1max threshold %v", c.F1MaxThreshold)
	}
	r2, err := a.Result(0.3)
	if err != nil || r2 != r {
		t.Errorf("Result after ResultCurves: %+v, %v; want %+v", r2, err, r)
	}
}
