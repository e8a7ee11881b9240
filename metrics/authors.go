package metrics

import (
	"fmt"
	"math"
)

// The authors' P-PRO (github.com/mala-lab/IDEAL, utils/eva_metrics.py), the number
// in the P-PRO column of their tables. It is not the MVTec AD AU-PRO of
// PixelAccumulator, and the two should not be compared:
//
//   - every map is zoomed so that its longest side is AuthorsPROSide
//     (scipy.ndimage.zoom: order 1 for the map, order 0 for the mask; maps of that
//     side or smaller are kept as they are);
//   - the ground-truth regions are 4-connected (scipy.ndimage.label's default);
//   - AuthorsPROThresholds thresholds evenly spaced from the class's highest zoomed
//     score down to its lowest (np.linspace), a pixel counting as anomalous when its
//     score is ≥ the threshold (compared in float32, NumPy 1.x's promotion);
//   - per threshold, PRO is the mean over every region of the class of the fraction
//     of the region detected, and the FPR the fraction of the normal pixels detected;
//   - the points are sorted by FPR (np.argsort, which is not stable: the order of
//     points tied on FPR is NumPy's, reproduced), those with FPR ≤ AuthorsPROLimit
//     kept, the last PRO carried flat to the limit, and the trapezoid area divided
//     by the limit.
//
// The authors' code returns 0 when a class has no normal pixel or no ground-truth
// region; here P-PRO is then undefined (NaN, with the reason), as every metric of
// this package. Like theirs, it is 0 when every zoomed score of the class is the
// same (np.isclose) or when no threshold keeps the FPR within the limit.
const (
	AuthorsPROSide       = 256
	AuthorsPROThresholds = 50
	AuthorsPROLimit      = 0.3
)

// AuthorsPROName is the authors' P-PRO as tables and reports name it.
const AuthorsPROName = "P-PRO (authors)"

// AuthorsPROResult is the authors' P-PRO of one class.
type AuthorsPROResult struct {
	PRO float64
	// Regions counts the 4-connected ground-truth regions at the zoomed size.
	Regions          int
	UndefinedBecause string // why PRO is NaN, "" when defined
}

// AuthorsPROAccumulator collects anomaly maps and their masks one image at a time,
// zoomed as the authors zoom them, and computes their P-PRO over all of them. It
// keeps 4 bytes per normal and 8 per anomalous zoomed pixel (at most
// AuthorsPROSide² pixels per image).
type AuthorsPROAccumulator struct {
	neg        []float32     // zoomed scores of normal pixels
	pos        []regionPixel // zoomed anomalous pixels
	regionSize []uint32
	lo, hi     float32 // range of every zoomed score
	anomalous  int64   // anomalous pixels as added, before the zoom
	labels     []int32
	stack      []int32
}

// regionPixel is a zoomed anomalous pixel: its score and its region's index.
type regionPixel struct {
	score  float32
	region uint32
}

// NewAuthorsPROAccumulator returns an empty accumulator.
func NewAuthorsPROAccumulator() *AuthorsPROAccumulator {
	a := &AuthorsPROAccumulator{}
	a.Reset()
	return a
}

// Reset empties the accumulator but keeps its memory for the next class.
func (a *AuthorsPROAccumulator) Reset() {
	a.neg, a.pos, a.regionSize = a.neg[:0], a.pos[:0], a.regionSize[:0]
	a.lo, a.hi = float32(math.Inf(1)), float32(math.Inf(-1))
	a.anomalous = 0
}

// Add adds one image: scores and mask are width×height, row-major; mask[i] marks an
// anomalous pixel, a nil mask means every pixel is normal. Scores must not be NaN.
func (a *AuthorsPROAccumulator) Add(width, height int, scores []float32, mask []bool) error {
	n := width * height
	switch {
	case width <= 0 || height <= 0 || n > math.MaxInt32:
		return fmt.Errorf("metrics: bad map size %d×%d", width, height)
	case len(scores) != n:
		return fmt.Errorf("metrics: map has %d values, want %d×%d", len(scores), width, height)
	case mask != nil && len(mask) != n:
		return fmt.Errorf("metrics: mask has %d values, map is %d×%d", len(mask), width, height)
	}
	if err := nanError(scores, width); err != nil {
		return err
	}
	if mask == nil {
		mask = make([]bool, n)
	}
	for _, m := range mask {
		if m {
			a.anomalous++
		}
	}
	if m := max(width, height); m > AuthorsPROSide {
		z := AuthorsPROSide / float64(m)
		ow, oh := zoomedSize(width, z), zoomedSize(height, z)
		scores, mask = zoomLinear(scores, width, height, ow, oh), zoomNearest(mask, width, height, ow, oh)
		width, height, n = ow, oh, ow*oh
	}
	if cap(a.labels) < n {
		a.labels = make([]int32, n)
	}
	labels := a.labels[:n]
	var sizes []uint32
	sizes, a.stack = labelRegions4(mask, width, height, labels, a.stack)
	base := uint32(len(a.regionSize)) - 1 // label k is region base+k
	for i, s := range scores {
		a.lo, a.hi = min(a.lo, s), max(a.hi, s)
		if mask[i] {
			a.pos = append(a.pos, regionPixel{s, base + uint32(labels[i])})
		} else {
			a.neg = append(a.neg, s)
		}
	}
	a.regionSize = append(a.regionSize, sizes...)
	return nil
}

// Result computes the authors' P-PRO over everything added so far.
func (a *AuthorsPROAccumulator) Result() AuthorsPROResult {
	r := AuthorsPROResult{PRO: math.NaN(), Regions: len(a.regionSize)}
	switch {
	case len(a.neg)+len(a.pos) == 0:
		r.UndefinedBecause = "no pixels"
	case a.anomalous == 0:
		r.UndefinedBecause = "no anomalous pixels"
	case len(a.regionSize) == 0:
		r.UndefinedBecause = fmt.Sprintf("no ground-truth region left at the zoomed size (longest side %d)", AuthorsPROSide)
	case len(a.neg) == 0:
		r.UndefinedBecause = "no normal pixels"
	case numpyIsClose(float64(a.lo), float64(a.hi)):
		r.PRO = 0 // a constant map: the authors' 0
	default:
		fpr, pro := a.curve(authorsThresholds(a.hi, a.lo))
		r.PRO = authorsArea(fpr, pro)
	}
	return r
}

// authorsThresholds are np.linspace(max, min, AuthorsPROThresholds), each rounded
// to float32 as NumPy 1.x does when it compares a float32 array with a float64
// scalar (value-based promotion).
func authorsThresholds(hi, lo float32) []float32 {
	t := numpyLinspace(float64(hi), float64(lo), AuthorsPROThresholds)
	out := make([]float32, len(t))
	for i, v := range t {
		out[i] = float32(v)
	}
	return out
}

// firstAtOrBelow is the first index i of the non-increasing thresholds t with
// s ≥ t[i] (len(t) when there is none): a pixel of score s is predicted anomalous
// at threshold i exactly when i ≥ firstAtOrBelow(t, s).
func firstAtOrBelow(t []float32, s float32) int {
	lo, hi := 0, len(t)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s >= t[m] {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// curve is the FPR and PRO at every threshold of t.
func (a *AuthorsPROAccumulator) curve(t []float32) (fpr, pro []float64) {
	nt := len(t)
	fpAt := make([]uint64, nt+1) // normal pixels first predicted at threshold i
	for _, s := range a.neg {
		fpAt[firstAtOrBelow(t, s)]++
	}
	hitAt := make([]uint32, len(a.regionSize)*(nt+1)) // region r's pixels first predicted at i
	for _, p := range a.pos {
		hitAt[int(p.region)*(nt+1)+firstAtOrBelow(t, p.score)]++
	}
	fpr, pro = make([]float64, nt), make([]float64, nt)
	hits := make([]uint64, len(a.regionSize))
	overlap := make([]float64, len(a.regionSize))
	var fp uint64
	for i := range nt {
		fp += fpAt[i]
		fpr[i] = float64(fp) / float64(len(a.neg))
		for r, size := range a.regionSize {
			hits[r] += uint64(hitAt[r*(nt+1)+i])
			overlap[r] = float64(hits[r]) / float64(size)
		}
		pro[i] = numpyMean(overlap)
	}
	return fpr, pro
}

// authorsArea integrates PRO over FPR as the authors do: the points sorted by FPR
// (np.argsort), those with FPR ≤ AuthorsPROLimit kept, the last PRO carried flat to
// the limit, np.trapz, divided by the limit; 0 when no point is within the limit.
func authorsArea(fpr, pro []float64) float64 {
	var x, y []float64
	for _, i := range numpyArgsort(fpr) {
		if fpr[i] <= AuthorsPROLimit {
			x, y = append(x, fpr[i]), append(y, pro[i])
		}
	}
	if len(x) == 0 {
		return 0
	}
	if x[len(x)-1] < AuthorsPROLimit {
		x, y = append(x, AuthorsPROLimit), append(y, y[len(y)-1])
	}
	return numpyTrapz(y, x) / AuthorsPROLimit
}
