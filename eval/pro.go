package eval

import (
	"fmt"

	"github.com/ideal-fsad/ideal/metrics"
)

// PRO selects the per-region-overlap metrics of a run: the exact MVTec AD AU-PRO
// (metrics.PixelAccumulator: 8-connected regions, every threshold, up to the FPR
// limit), the authors' P-PRO (metrics.AuthorsPROAccumulator: maps zoomed to a
// longest side of 256, 4-connected regions, 50 thresholds, FPR ≤ 0.3), or both. The
// AU-PRO comes with the P-AUROC curve at no cost and is always in the report and
// metrics.csv; PRO decides whether the authors' P-PRO is computed (it keeps a
// zoomed copy of every map of a class) and which of the two the tables print.
type PRO string

const (
	PROBoth    PRO = "both"
	PROMVTec   PRO = "mvtec"
	PROAuthors PRO = "authors"
)

// PROs are the values of PRO.
var PROs = []PRO{PROBoth, PROMVTec, PROAuthors}

// ParsePRO reads a PRO selection; "" is PROBoth.
func ParsePRO(s string) (PRO, error) {
	switch p := PRO(s); p {
	case "":
		return PROBoth, nil
	case PROBoth, PROMVTec, PROAuthors:
		return p, nil
	}
	return "", fmt.Errorf("PRO %q is not authors, mvtec or both", s)
}

// authors reports whether the authors' P-PRO is computed.
func (p PRO) authors() bool { return p != PROMVTec }

// mvtec reports whether the tables print the MVTec AU-PRO.
func (p PRO) mvtec() bool { return p != PROAuthors }

// classMetrics turns one class's image scores and pixel maps into its metrics (spec
// §10, and the authors' P-PRO when asked for): the accumulation Run and Maps share.
// The accumulators are reused by every class.
type classMetrics struct {
	acc     *metrics.PixelAccumulator
	authors *metrics.AuthorsPROAccumulator // nil when the authors' P-PRO is not computed
	scores  []float64
	labels  []bool
}

func newClassMetrics(pro PRO) *classMetrics {
	c := &classMetrics{acc: metrics.NewPixelAccumulator(0)}
	if pro.authors() {
		c.authors = metrics.NewAuthorsPROAccumulator()
	}
	return c
}

// reset starts a class.
func (c *classMetrics) reset() {
	c.acc.Reset()
	if c.authors != nil {
		c.authors.Reset()
	}
	c.scores, c.labels = nil, nil
}

// reserve makes room for n pixels.
func (c *classMetrics) reserve(n int) { c.acc.Reserve(n) }

// addPixels adds an image's w×h pixel map and its mask (nil for a normal image).
func (c *classMetrics) addPixels(w, h int, pix []float32, mask []bool) error {
	if err := c.acc.Add(w, h, pix, mask); err != nil {
		return err
	}
	if c.authors != nil {
		return c.authors.Add(w, h, pix, mask)
	}
	return nil
}

// addImage adds an image's score.
func (c *classMetrics) addImage(score float64, anomalous bool) {
	c.scores = append(c.scores, score)
	c.labels = append(c.labels, anomalous)
}

// result is the class's metrics, AU-PRO up to proLimit.
func (c *classMetrics) result(class string, proLimit float64) (metrics.ClassResult, error) {
	img, err := metrics.ImageMetrics(c.scores, c.labels)
	if err != nil {
		return metrics.ClassResult{}, fmt.Errorf("class %s: %w", class, err)
	}
	pr, err := c.acc.Result(proLimit)
	if err != nil {
		return metrics.ClassResult{}, fmt.Errorf("class %s: %w", class, err)
	}
	cr := metrics.NewClassResult(class, img, pr)
	if c.authors != nil {
		cr.SetAuthorsPRO(c.authors.Result())
	}
	return cr, nil
}
