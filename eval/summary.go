package eval

import (
	"fmt"
	"strconv"

	"github.com/ideal-fsad/ideal/eval/report"
)

// Summary is the top of the run's report.html: its settings and metrics.
func (r *Report) Summary() report.Summary {
	facts := []report.Fact{
		{Name: "data", Value: r.Data + " (" + r.Format + ")"},
		{Name: "mode", Value: fmt.Sprintf("%s, %d normal + %d abnormal references per class, %s setting", r.Mode, r.NShot, r.AShot, r.Setting)},
		{Name: "backbone", Value: r.Backbone},
		{Name: "head", Value: orNone(r.Head)},
		{Name: "input side S", Value: strconv.Itoa(r.Size)},
		{Name: "references", Value: orNone(r.Refs) + ", seed " + strconv.FormatUint(r.Seed, 10)},
		{Name: "image score", Value: "the head's (mean of the top 1% of A)"},
		{Name: "pixel maps", Value: r.PixelMaps},
	}
	if len(r.Skipped) > 0 {
		facts = append(facts, report.Fact{Name: "left out", Value: fmt.Sprintf("%d images (see metrics.json), e.g. %s", len(r.Skipped), r.Skipped[0])})
	}
	return report.Summary{Title: "ideal eval: " + r.Mode, Facts: facts, Classes: r.Classes, Mean: r.Mean}
}

// Summary is the top of the maps' report.html: its settings and metrics.
func (r *MapsReport) Summary() report.Summary {
	facts := []report.Fact{
		{Name: "data", Value: r.Data + " (" + r.Format + ")"},
		{Name: "maps", Value: r.Maps},
		{Name: "image score", Value: r.ImageScore},
		{Name: "pixel maps", Value: fmt.Sprintf("at the ground truth's size (%d resized)", r.Resized)},
	}
	if n := len(r.LeftOut) + len(r.NoMap); n > 0 {
		facts = append(facts, report.Fact{Name: "left out", Value: fmt.Sprintf("%d test images (no ground truth or no map)", n)})
	}
	return report.Summary{Title: "ideal metrics: " + r.Maps, Facts: facts, Classes: r.Classes, Mean: r.Mean}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
