package eval

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/metrics"
)

// WriteTable writes the report as 'ideal metrics' prints it: the per-class table (in
// percent, n/a for an undefined value), the mean, and notes about the undefined
// values and how the maps were read. The PRO columns are those of r.PRO: "AU-PRO@L
// (MVTec)" and "P-PRO (authors)".
func (r *MapsReport) WriteTable(w io.Writer) {
	pro, _ := ParsePRO(string(r.PRO))
	heads := columnHeads(pro, r.ProLimit)
	width := len("Product")
	for _, c := range r.Classes {
		width = max(width, len(c.Class))
	}
	colw := func(i int) int { return max(len(heads[i]), 7) }
	row := func(name string, vals []metrics.Value) {
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
		v := c.Values()
		row(c.Class, columnValues(pro, v[:], c.AuthorsPRO))
	}
	v := r.Mean.Values()
	row("Mean", columnValues(pro, v[:], r.Mean.AuthorsPRO))
	r.writeNotes(w, pro)
}

// columnHeads are the table's column names: the five metrics without PRO, then
// the PRO metrics that pro selects.
func columnHeads(pro PRO, limit float64) []string {
	heads := slices.Clone(metrics.Names[:5])
	if pro.mvtec() {
		heads = append(heads, fmt.Sprintf("AU-PRO@%g (MVTec)", limit))
	}
	if pro.authors() {
		heads = append(heads, metrics.AuthorsPROName)
	}
	return heads
}

// columnValues are a row's values in the order of columnHeads; authors is nil
// (undefined) when the authors' P-PRO was not computed.
func columnValues(pro PRO, six []metrics.Value, authors *metrics.Value) []metrics.Value {
	vals := slices.Clone(six[:5])
	if pro.mvtec() {
		vals = append(vals, six[5])
	}
	if pro.authors() {
		v := metrics.Value(math.NaN())
		if authors != nil {
			v = *authors
		}
		vals = append(vals, v)
	}
	return vals
}

// writeNotes writes what follows the table: how the metrics were computed, how the
// maps were read and the undefined values.
func (r *MapsReport) writeNotes(w io.Writer, pro PRO) {
	fmt.Fprintf(w, "\nimage score: %s; thresholds exact; AU-PRO: 8-connected regions, FPR up to %g, divided by %g\n",
		r.ImageScore, r.ProLimit, r.ProLimit)
	if pro.authors() {
		fmt.Fprintf(w, "%s: the authors' eva_metrics.py: maps zoomed to a longest side of %d (masks order 0), 4-connected regions, %d thresholds, FPR ≤ %g (not comparable with AU-PRO)\n",
			metrics.AuthorsPROName, metrics.AuthorsPROSide, metrics.AuthorsPROThresholds, metrics.AuthorsPROLimit)
	}
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

// WriteAuthorsTable writes the report's table as the authors' main_infer.py prints
// it (utils/eva_metrics.py print_metrics): I-AUROC, I-AP, P-AUROC and their P-PRO as
// fractions with 4 decimals, left-aligned in columns of 20 and 10, the values cast
// to float32 and the mean theirs (np.nanmean of the float32 values); "nan" where a
// value is undefined or the authors' P-PRO was not computed.
func (r *MapsReport) WriteAuthorsTable(w io.Writer) {
	fmt.Fprintf(w, "\n%-20s %-10s %-10s %-10s %-10s\n", "Product", "I-AUROC", "I-AP", "P-AUROC", "P-PRO")
	rows := make([][4]float32, len(r.Classes))
	for i, c := range r.Classes {
		rows[i] = authorsRow(c)
		fmt.Fprintf(w, "%-20s %s\n", c.Class, authorsCells(rows[i]))
	}
	fmt.Fprintf(w, "%-20s %s \n\n", "Mean", authorsCells(authorsMean(rows)))
}

// authorsRow is a class's four values of the authors' table, cast to float32.
func authorsRow(c metrics.ClassResult) [4]float32 {
	pro := float32(math.NaN())
	if c.AuthorsPRO != nil {
		pro = float32(*c.AuthorsPRO)
	}
	return [4]float32{float32(c.IAUROC), float32(c.IAP), float32(c.PAUROC), pro}
}

// authorsCells formats four values as Python's f"{v:<10.4f}", joined by spaces.
func authorsCells(v [4]float32) string {
	cells := make([]string, len(v))
	for i, x := range v {
		s := "nan"
		if x == x {
			s = strconv.FormatFloat(float64(x), 'f', 4, 64)
		}
		cells[i] = fmt.Sprintf("%-10s", s)
	}
	return strings.Join(cells, " ")
}

// authorsMean is np.nanmean(rows, axis=0) of a float32 array: the rows summed in
// float32 in order, NaNs as 0, divided by the count of numbers (in float64, stored
// as float32); NaN where a column has none.
func authorsMean(rows [][4]float32) [4]float32 {
	var out [4]float32
	for j := range out {
		var sum float32
		n := 0
		for _, r := range rows {
			if r[j] == r[j] {
				sum += r[j]
				n++
			}
		}
		out[j] = float32(math.NaN())
		if n > 0 {
			out[j] = float32(float64(sum) / float64(n))
		}
	}
	return out
}
