package eval

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/metrics"
)

// WriteTable writes the report as 'ideal metrics' prints it: the per-class table (in
// percent, n/a for an undefined value), the mean, and notes about the undefined
// values and how the maps were read.
func (r *MapsReport) WriteTable(w io.Writer) {
	heads := append(metrics.Names[:5:5], fmt.Sprintf("AU-PRO@%g", r.ProLimit))
	width := len("Product")
	for _, c := range r.Classes {
		width = max(width, len(c.Class))
	}
	colw := func(i int) int { return max(len(heads[i]), 7) }
	row := func(name string, vals [6]metrics.Value) {
		fmt.Fprintf(w, "%-*s", width, name)
		for i, v := range vals {
			cell := "n/a"
			if v.Defined() {
				cell = strconv.FormatFloat(100*float64(v), 'f', 2, 64)
			}
			fmt.Fprintf(w, "  %*s", colw(i), cell)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-*s", width, "Product")
	for i, h := range heads {
		fmt.Fprintf(w, "  %*s", colw(i), h)
	}
	fmt.Fprintln(w)
	for _, c := range r.Classes {
		row(c.Class, c.Values())
	}
	row("Mean", r.Mean.Values())
	fmt.Fprintf(w, "\nimage score: %s; thresholds exact; AU-PRO: 8-connected regions, FPR up to %g, divided by %g\n",
		r.ImageScore, r.ProLimit, r.ProLimit)
	var kinds []string
	for k, n := range r.MapFiles {
		kinds = append(kinds, fmt.Sprintf("%d %s", n, k))
	}
	slices.Sort(kinds)
	fmt.Fprintf(w, "maps: %s\n", strings.Join(kinds, ", "))
	if r.MapFiles[mapio.SourcePNG8]+r.MapFiles[mapio.SourcePNG16]+r.MapFiles[mapio.SourceIntTIFF] > 0 {
		fmt.Fprintln(w, "note: integer maps (PNG, 8/16-bit TIFF) are evaluated on their grey levels: few levels mean many tied scores")
	}
	if r.Resized > 0 {
		fmt.Fprintf(w, "note: %d maps were resized bilinearly (align_corners=False, no anti-aliasing) to their ground truth's size\n", r.Resized)
	}
	for _, c := range r.Classes {
		if len(c.Undefined) > 0 {
			fmt.Fprintf(w, "n/a: %s: %s\n", c.Class, groupByReason(c.Undefined))
		}
	}
	if len(r.Mean.Excluded) > 0 {
		fmt.Fprintf(w, "mean: %s\n", groupByReason(r.Mean.Excluded))
	}
}

// groupByReason joins "metric: reason" lines, naming each reason once:
// "I-AUROC, I-AP: no anomalous images; AU-PRO: no ground-truth region".
func groupByReason(lines []string) string {
	var reasons []string
	metricsOf := map[string][]string{}
	for _, l := range lines {
		m, why, _ := strings.Cut(l, ": ")
		if _, seen := metricsOf[why]; !seen {
			reasons = append(reasons, why)
		}
		metricsOf[why] = append(metricsOf[why], m)
	}
	parts := make([]string, len(reasons))
	for i, why := range reasons {
		parts[i] = strings.Join(metricsOf[why], ", ") + ": " + why
	}
	return strings.Join(parts, "; ")
}
