package metrics

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// CurvePoint is a point of a curve: ROC (FPR, TPR), PR (recall, precision) or PRO
// (FPR, PRO).
type CurvePoint struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// ImageCurves are the image-level curves of one class, a point at every distinct
// score from the highest down.
type ImageCurves struct {
	// ROC starts at (0, 0) and ends at (1, 1); Thresholds[i] is the score of ROC[i+1]
	// (an image is predicted anomalous when its score is ≥ the threshold).
	ROC        []CurvePoint `json:"roc"`
	PR         []CurvePoint `json:"pr"` // (recall, precision) at every threshold with a true positive
	Thresholds []float64    `json:"thresholds"`
	// F1Max and F1MaxThreshold are the best F1 and the lowest threshold reaching it
	// (NaN without anomalous or normal images).
	F1Max          Value `json:"f1max"`
	F1MaxThreshold Value `json:"f1max_threshold"`
}

// ImageCurvesOf computes the image-level curves from one score per image, the ones
// whose areas ImageMetrics reports: the trapezoids of ROC sum to the I-AUROC.
func ImageCurvesOf(scores []float64, anomalous []bool) (ImageCurves, error) {
	if len(scores) != len(anomalous) {
		return ImageCurves{}, fmt.Errorf("metrics: %d image scores but %d labels", len(scores), len(anomalous))
	}
	idx := make([]int, len(scores))
	var pos, neg float64
	for i, s := range scores {
		if math.IsNaN(s) {
			return ImageCurves{}, fmt.Errorf("metrics: image score %d is NaN", i)
		}
		idx[i] = i
		if anomalous[i] {
			pos++
		} else {
			neg++
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	c := ImageCurves{ROC: []CurvePoint{{0, 0}}, F1Max: Value(math.NaN()), F1MaxThreshold: Value(math.NaN())}
	var tp, fp float64
	for i := 0; i < len(idx); {
		s := scores[idx[i]]
		for ; i < len(idx) && scores[idx[i]] == s; i++ {
			if anomalous[idx[i]] {
				tp++
			} else {
				fp++
			}
		}
		c.ROC = append(c.ROC, CurvePoint{ratio(fp, neg), ratio(tp, pos)})
		c.Thresholds = append(c.Thresholds, s)
		if pos > 0 && neg > 0 {
			if f := 2 * tp / (tp + fp + pos); !(f <= float64(c.F1Max)) {
				c.F1Max, c.F1MaxThreshold = Value(f), Value(s)
			}
		}
		if pos > 0 && tp > 0 {
			c.PR = append(c.PR, CurvePoint{tp / pos, tp / (tp + fp)})
		}
	}
	return c, nil
}

// ratio is a/b, 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// PixelCurves are the pixel-level curves of one class, thinned to points at least
// about 1/1000 apart (the first and last points kept).
type PixelCurves struct {
	ROC []CurvePoint `json:"roc"` // (FPR, TPR), from (0, 0)
	// PRO is the PRO curve (FPR, mean overlap of the ground-truth regions) up to the
	// PRO limit, the one whose area is the AU-PRO; empty without regions.
	PRO []CurvePoint `json:"pro"`
	// F1MaxThreshold is the lowest pixel score reaching the P-F1max (NaN when it is
	// undefined).
	F1MaxThreshold Value `json:"f1max_threshold"`
}

// curveGap is the distance (|Δx| + |Δy|) below which PixelCurves leaves out a point.
const curveGap = 1e-3

// curveRecorder records the points of a curve as it is walked.
type curveRecorder struct {
	roc, pro []CurvePoint
	last     CurvePoint // the last ROC point seen
	f1At     float32    // the score at which the best F1 so far was reached
}

func (r *curveRecorder) add(c *curve) {
	r.f1At = c.f1At
	if c.pos == 0 || c.neg == 0 {
		return
	}
	p := CurvePoint{float64(c.fp) / float64(c.neg), float64(c.tp) / float64(c.pos)}
	r.last = p
	if q := r.roc[len(r.roc)-1]; math.Abs(p.X-q.X)+math.Abs(p.Y-q.Y) >= curveGap {
		r.roc = append(r.roc, p)
	}
	if c.regions > 0 && !c.proDone {
		p := CurvePoint{c.proX, c.proY}
		if q := r.pro[len(r.pro)-1]; math.Abs(p.X-q.X)+math.Abs(p.Y-q.Y) >= curveGap {
			r.pro = append(r.pro, p)
		}
	}
}

// ResultCurves is Result, with the class's pixel curves.
func (a *PixelAccumulator) ResultCurves(proLimit float64) (PixelResult, PixelCurves, error) {
	rec := &curveRecorder{roc: []CurvePoint{{0, 0}}, pro: []CurvePoint{{0, 0}}}
	r, err := a.result(proLimit, rec)
	if err != nil {
		return r, PixelCurves{}, err
	}
	if rec.roc[len(rec.roc)-1] != rec.last {
		rec.roc = append(rec.roc, rec.last)
	}
	pc := PixelCurves{ROC: rec.roc, F1MaxThreshold: Value(math.NaN())}
	if r.Regions > 0 {
		pc.PRO = rec.pro
	}
	if !math.IsNaN(r.F1Max) {
		pc.F1MaxThreshold = Value(rec.f1At)
	}
	return r, pc, nil
}
