package metrics

import (
	"fmt"
	"math"
	"slices"
)

// PixelResult holds the pixel-level metrics of one class. AUROC and F1Max are NaN
// when the class has no anomalous or no normal pixel, AUPRO when it has no
// ground-truth region or no normal pixel.
type PixelResult struct {
	AUROC, F1Max, AUPRO float64
	Pixels, Anomalous   int64
	Regions             int
	UndefinedBecause    string // why AUROC/F1Max/AUPRO are NaN, "" when defined
}

// PixelAccumulator collects anomaly maps and their ground-truth masks one image
// at a time and computes the exact pixel metrics of all of them together.
// It keeps 4 bytes per normal pixel and 8 bytes per anomalous pixel.
type PixelAccumulator struct {
	neg        []uint32 // keys of normal pixels
	pos        []uint64 // key<<32 | region index of anomalous pixels
	regionSize []uint32 // pixels per ground-truth region, over all images
	labels     []int32  // scratch for labelRegions
	stack      []int32
}

// NewPixelAccumulator returns an empty accumulator; expectedPixels (0 if
// unknown) reserves room for that many normal pixels so the key store is not
// reallocated while it grows.
func NewPixelAccumulator(expectedPixels int) *PixelAccumulator {
	return &PixelAccumulator{neg: make([]uint32, 0, max(expectedPixels, 0))}
}

// Reset empties the accumulator but keeps its memory for the next class.
func (a *PixelAccumulator) Reset() {
	a.neg, a.pos, a.regionSize = a.neg[:0], a.pos[:0], a.regionSize[:0]
}

// Reserve makes room for n more normal pixels.
func (a *PixelAccumulator) Reserve(n int) {
	a.neg = slices.Grow(a.neg, n)
}

// scoreKey maps a float32 to a uint32 whose unsigned order is the order of the
// scores; −0 and +0 get the same key so they tie, as they compare equal.
func scoreKey(f float32) uint32 {
	b := math.Float32bits(f)
	if b == 0x80000000 {
		b = 0
	}
	if b&0x80000000 != 0 {
		return ^b
	}
	return b | 0x80000000
}

// keyScore is the score of a key (scoreKey's inverse; −0 comes back as +0).
func keyScore(k uint32) float32 {
	if k&0x80000000 != 0 {
		return math.Float32frombits(k &^ 0x80000000)
	}
	return math.Float32frombits(^k)
}

// isNaNKey reports whether k is the key of a NaN: NaNs sort beyond ±Inf.
func isNaNKey(k uint32) bool { return k > 0xff800000 || k < 0x007fffff }

// fillKeys writes the key of every score into dst and reports false if a score
// is NaN.
func fillKeys(dst []uint32, scores []float32) bool {
	var bad bool
	for i, s := range scores {
		k := scoreKey(s)
		bad = bad || isNaNKey(k)
		dst[i] = k
	}
	return !bad
}

func nanError(scores []float32, width int) error {
	for i, s := range scores {
		if s != s {
			return fmt.Errorf("metrics: map value at (%d, %d) is NaN", i%width, i/width)
		}
	}
	return nil
}

// Add adds one image: scores and mask are width×height, row-major; mask[i] marks
// an anomalous pixel. A nil mask means every pixel is normal. Scores must not be
// NaN.
func (a *PixelAccumulator) Add(width, height int, scores []float32, mask []bool) error {
	n := width * height
	if width <= 0 || height <= 0 || n > math.MaxInt32 {
		return fmt.Errorf("metrics: bad map size %d×%d", width, height)
	}
	if len(scores) != n {
		return fmt.Errorf("metrics: map has %d values, want %d×%d", len(scores), width, height)
	}
	if mask != nil && len(mask) != n {
		return fmt.Errorf("metrics: mask has %d values, map is %d×%d", len(mask), width, height)
	}
	if mask == nil || !slices.Contains(mask, true) {
		start := len(a.neg)
		a.neg = slices.Grow(a.neg, n)[:start+n]
		if !fillKeys(a.neg[start:], scores) {
			a.neg = a.neg[:start]
			return nanError(scores, width)
		}
		return nil
	}
	if cap(a.labels) < n {
		a.labels = make([]int32, n)
	}
	labels := a.labels[:n]
	var sizes []uint32
	sizes, a.stack = labelRegions(mask, width, height, labels, a.stack)
	if uint64(len(a.regionSize))+uint64(len(sizes)) > math.MaxUint32 {
		return fmt.Errorf("metrics: more than %d ground-truth regions", uint32(math.MaxUint32))
	}
	var npos int
	for _, s := range sizes {
		npos += int(s)
	}
	base := uint64(len(a.regionSize)) - 1 // label k is region base+k
	negStart, posStart := len(a.neg), len(a.pos)
	neg := slices.Grow(a.neg, n-npos)[:negStart+n-npos]
	pos := slices.Grow(a.pos, npos)[:posStart+npos]
	in, ip := negStart, posStart
	var bad bool
	for i, s := range scores {
		k := scoreKey(s)
		bad = bad || isNaNKey(k)
		if mask[i] {
			pos[ip] = uint64(k)<<32 | (base + uint64(labels[i]))
			ip++
		} else {
			neg[in] = k
			in++
		}
	}
	if bad {
		a.neg, a.pos = neg[:negStart], pos[:posStart]
		return nanError(scores, width)
	}
	a.neg, a.pos = neg, pos
	a.regionSize = append(a.regionSize, sizes...)
	return nil
}

// Result computes P-AUROC, P-F1max and AU-PRO up to the FPR limit proLimit
// (0 < proLimit ≤ 1; MVTec uses 0.3) over everything added so far. It reorders
// the stored keys but keeps them, so Result may be called again.
func (a *PixelAccumulator) Result(proLimit float64) (PixelResult, error) {
	return a.result(proLimit, nil)
}

// result is Result, recording the curves' points in rec when it is not nil.
func (a *PixelAccumulator) result(proLimit float64, rec *curveRecorder) (PixelResult, error) {
	if !(proLimit > 0 && proLimit <= 1) {
		return PixelResult{}, fmt.Errorf("metrics: PRO limit %v outside (0, 1]", proLimit)
	}
	r := PixelResult{Pixels: int64(len(a.neg) + len(a.pos)), Anomalous: int64(len(a.pos)), Regions: len(a.regionSize)}
	c := newCurve(uint64(len(a.pos)), uint64(len(a.neg)), len(a.regionSize), proLimit)
	c.rec = rec
	weight := make([]float64, len(a.regionSize))
	for i, s := range a.regionSize {
		weight[i] = 1 / float64(s)
	}
	negOff := partitionTop16(a.neg, 0)
	posOff := partitionTop16(a.pos, 32)
	var counts [1 << 16]uint32
	for b := 1<<16 - 1; b >= 0; b-- {
		negB := a.neg[negOff[b]:negOff[b+1]]
		posB := a.pos[posOff[b]:posOff[b+1]]
		if len(negB) == 0 && len(posB) == 0 {
			continue
		}
		slices.Sort(posB) // usually small; the key is in the high bits
		// Walk the bucket's keys from the highest down: normal keys by their low
		// 16 bits (counted when there are many, else sorted), merged with posB.
		j := len(posB) - 1
		// takePos sums the anomalous pixels of this bucket whose low 16 key
		// bits equal lo (they are next, walking posB from its end).
		takePos := func(lo uint32) (dp uint64, dw float64) {
			c.at = keyScore(uint32(b)<<16 | lo)
			for ; j >= 0 && uint32(posB[j]>>32)&0xffff == lo; j-- {
				dp++
				dw += weight[uint32(posB[j])]
			}
			return dp, dw
		}
		// emit merges the anomalous pixels of this bucket with normal keys
		// arriving in descending order (low 16 bits lo, count dn); it is also
		// called with dn = 0 to flush anomalous keys below the last normal one.
		emit := func(lo uint32, dn uint64) {
			for j >= 0 && uint32(posB[j]>>32)&0xffff > lo {
				dp, dw := takePos(uint32(posB[j]>>32) & 0xffff)
				c.step(0, dp, dw)
			}
			dp, dw := takePos(lo)
			c.step(dn, dp, dw)
		}
		if len(negB) >= 4096 {
			for _, k := range negB {
				counts[k&0xffff]++
			}
			for lo := 1<<16 - 1; lo >= 0; lo-- {
				if n := counts[lo]; n > 0 {
					counts[lo] = 0
					emit(uint32(lo), uint64(n))
				}
			}
		} else {
			slices.Sort(negB)
			for i := len(negB) - 1; i >= 0; {
				k := negB[i]
				n := uint64(0)
				for ; i >= 0 && negB[i] == k; i-- {
					n++
				}
				emit(k&0xffff, n)
			}
		}
		for j >= 0 { // anomalous pixels below the lowest normal key of the bucket
			dp, dw := takePos(uint32(posB[j]>>32) & 0xffff)
			c.step(0, dp, dw)
		}
	}
	r.AUROC, r.F1Max, r.AUPRO = c.auroc(), c.f1Max(), c.auPRO()
	r.UndefinedBecause = a.undefinedBecause()
	return r, nil
}

// undefinedBecause says why the pixel metrics are undefined, "" when they are not.
func (a *PixelAccumulator) undefinedBecause() string {
	switch {
	case len(a.neg)+len(a.pos) == 0:
		return "no pixels"
	case len(a.pos) == 0:
		return "no anomalous pixels"
	case len(a.neg) == 0:
		return "no normal pixels"
	}
	return ""
}

// partitionTop16 reorders keys in place so that they are grouped by the top 16
// bits of uint32(key>>shift), in ascending order of those bits, and returns the
// start of every group plus the end: one level of an in-place American flag sort.
// (Two levels of 8-bit digits were slower: the top byte of a float's key is its
// sign and exponent, nearly constant in an anomaly map, so the first level does
// a full pass for little.)
func partitionTop16[T uint32 | uint64](keys []T, shift uint) []int {
	shift += 16
	off := make([]int, 1<<16+1)
	next := make([]int, 1<<16)
	for _, v := range keys {
		off[int(v>>shift)&0xffff+1]++
	}
	for d := range 1 << 16 {
		off[d+1] += off[d]
		next[d] = off[d]
	}
	for d := range 1 << 16 {
		end := off[d+1]
		for i := next[d]; i < end; i = next[d] {
			// Follow the cycle from slot i, putting each key where its group
			// belongs, until a key of group d comes back to slot i.
			v := keys[i]
			for e := int(v>>shift) & 0xffff; e != d; e = int(v>>shift) & 0xffff {
				j := next[e]
				next[e]++
				keys[j], v = v, keys[j]
			}
			keys[i] = v
			next[d]++
		}
	}
	return off
}
