package metrics

import (
	"math"
	"math/bits"
)

// curve walks the thresholds of a binary scoring problem from the highest score
// down and accumulates AUROC, AP, F1max and (when regions > 0) the PRO integral.
// step is called once per distinct score with the number of negatives (dn) and
// positives (dp) at that score and, for PRO, the sum dw of 1/|region| over the
// positives at that score.
type curve struct {
	pos, neg uint64  // totals
	regions  float64 // number of ground-truth regions (PRO), 0 when unused
	limit    float64 // PRO integration limit on the FPR axis

	tp, fp uint64
	w      float64 // Σ 1/|region| over the true positives so far

	// rocHi:rocLo is the exact 128-bit Σ dfp·(tp_before + tp_after), i.e. twice
	// the ROC area in units of 1/(pos·neg).
	rocHi, rocLo uint64
	ap           float64
	f1           float64

	proX, proY float64 // last PRO curve point at or below the limit
	proArea    float64
	proDone    bool

	at   float32        // the score of the next step, when the caller sets it (f1At)
	f1At float32        // the score at which f1 was reached
	rec  *curveRecorder // records the curves' points when not nil
}

func newCurve(pos, neg uint64, regions int, limit float64) *curve {
	return &curve{pos: pos, neg: neg, regions: float64(regions), limit: limit}
}

func (c *curve) step(dn, dp uint64, dw float64) {
	tp0 := c.tp
	c.tp += dp
	c.fp += dn
	c.w += dw
	if dn > 0 {
		hi, lo := bits.Mul64(dn, tp0+c.tp)
		var carry uint64
		c.rocLo, carry = bits.Add64(c.rocLo, lo, 0)
		c.rocHi += hi + carry
	}
	// Precision and F1 only rise where true positives are added.
	if dp > 0 {
		c.ap += float64(dp) / float64(c.pos) * (float64(c.tp) / float64(c.tp+c.fp))
		if f := 2 * float64(c.tp) / float64(c.tp+c.fp+c.pos); f > c.f1 {
			c.f1, c.f1At = f, c.at
		}
	}
	if c.regions > 0 && c.neg > 0 && !c.proDone {
		x := math.Min(float64(c.fp)/float64(c.neg), 1)
		y := math.Min(c.w/c.regions, 1)
		if x <= c.limit {
			c.proArea += 0.5 * (y + c.proY) * (x - c.proX)
			c.proX, c.proY = x, y
		} else {
			yi := c.proY + (y-c.proY)*(c.limit-c.proX)/(x-c.proX)
			c.proArea += 0.5 * (yi + c.proY) * (c.limit - c.proX)
			c.proDone = true
			if c.rec != nil {
				c.rec.pro = append(c.rec.pro, CurvePoint{c.limit, yi})
			}
		}
	}
	if c.rec != nil {
		c.rec.add(c)
	}
}

// auroc is the ROC area; NaN when either class is empty.
func (c *curve) auroc() float64 {
	if c.pos == 0 || c.neg == 0 {
		return math.NaN()
	}
	twice := float64(c.rocHi)*0x1p64 + float64(c.rocLo)
	return twice / 2 / float64(c.pos) / float64(c.neg)
}

// averagePrecision is Σ (R_k − R_{k−1}) P_k; NaN when either class is empty.
func (c *curve) averagePrecision() float64 {
	if c.pos == 0 || c.neg == 0 {
		return math.NaN()
	}
	return c.ap
}

// f1Max is the best F1 over all thresholds; NaN when either class is empty.
func (c *curve) f1Max() float64 {
	if c.pos == 0 || c.neg == 0 {
		return math.NaN()
	}
	return c.f1
}

// auPRO is the PRO integral up to the limit divided by the limit; NaN when there
// are no regions or no normal pixels.
func (c *curve) auPRO() float64 {
	if c.regions == 0 || c.neg == 0 {
		return math.NaN()
	}
	// The official curve ends at (1, 1); a limit of exactly 1 is reached by the
	// last threshold, so proDone is only false when the limit is never crossed.
	return c.proArea / c.limit
}
