package metrics

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// ImageResult holds the image-level metrics of one class. A metric is NaN when
// the class has no anomalous or no normal image.
type ImageResult struct {
	AUROC, AP, F1Max  float64
	Images, Anomalous int
	UndefinedBecause  string // why the metrics are NaN, "" when defined
}

// ImageMetrics computes I-AUROC, I-AP and I-F1max from one score per image
// (anomalous[i] says whether image i is anomalous). Scores must not be NaN.
func ImageMetrics(scores []float64, anomalous []bool) (ImageResult, error) {
	if len(scores) != len(anomalous) {
		return ImageResult{}, fmt.Errorf("metrics: %d image scores but %d labels", len(scores), len(anomalous))
	}
	idx := make([]int, len(scores))
	var pos uint64
	for i, s := range scores {
		if math.IsNaN(s) {
			return ImageResult{}, fmt.Errorf("metrics: image score %d is NaN", i)
		}
		idx[i] = i
		if anomalous[i] {
			pos++
		}
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
	c := newCurve(pos, uint64(len(scores))-pos, 0, 1)
	for i := 0; i < len(idx); {
		var dn, dp uint64
		s := scores[idx[i]]
		for ; i < len(idx) && scores[idx[i]] == s; i++ {
			if anomalous[idx[i]] {
				dp++
			} else {
				dn++
			}
		}
		c.step(dn, dp, 0)
	}
	r := ImageResult{AUROC: c.auroc(), AP: c.averagePrecision(), F1Max: c.f1Max(),
		Images: len(scores), Anomalous: int(pos)}
	switch {
	case len(scores) == 0:
		r.UndefinedBecause = "no images"
	case pos == 0:
		r.UndefinedBecause = "no anomalous images"
	case pos == uint64(len(scores)):
		r.UndefinedBecause = "no normal images"
	}
	return r, nil
}
