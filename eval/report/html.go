package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/internal/atomicfile"
	"github.com/ideal-fsad/ideal/metrics"
)

// section is a class's part of the page.
type section struct {
	Name, Slug     string
	Threshold      float64 // the image threshold of the verdicts (+Inf: none)
	Rule           string  // how it was chosen
	PixelThreshold float64 // the pixel threshold of the predicted regions (+Inf: none)
	PixelAUROC     float64
	Plots, Refs    []asset
	Panels         []panel
	FN, FP, TP, TN int
}

// asset is a picture under DIR/report, relative to it.
type asset struct{ File, Alt string }

// panel is a query's panel.
type panel struct {
	asset
	Outcome string
	Wrong   bool
}

func (s *section) count(o Outcome) {
	switch o {
	case FalseNegative:
		s.FN++
	case FalsePositive:
		s.FP++
	case TruePositive:
		s.TP++
	default:
		s.TN++
	}
}

//go:embed report.css
var css []byte

//go:embed report.html.tmpl
var pageText string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"metric": formatValue,
	"num":    formatNumber,
	"asset":  func(f string) string { return AssetsDir + "/" + f },
}).Parse(pageText))

// row is a line of the metrics table.
type row struct {
	Name    string
	Values  [6]metrics.Value
	Authors *metrics.Value
	Section *section // nil for the mean
}

// Write writes DIR/report.html (and its style sheet) for the classes ended so far,
// atomically: the page never references a picture that is not yet written.
func (b *Builder) Write(sum Summary) error {
	if err := os.MkdirAll(filepath.Join(b.dir, AssetsDir), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(b.dir, AssetsDir, "report.css"), func(w io.Writer) error {
		_, err := w.Write(css)
		return err
	}); err != nil {
		return err
	}
	if err := writeIcon(filepath.Join(b.dir, AssetsDir, "icon.png")); err != nil {
		return err
	}
	var rows []row
	authors := false
	for _, c := range sum.Classes {
		r := row{Name: c.Class, Values: c.Values(), Authors: c.AuthorsPRO}
		for _, s := range b.sections {
			if s.Name == c.Class {
				r.Section = s
			}
		}
		authors = authors || c.AuthorsPRO != nil
		rows = append(rows, r)
	}
	mean := row{Name: "Mean", Values: sum.Mean.Values(), Authors: sum.Mean.AuthorsPRO}
	data := map[string]any{"Summary": sum, "Rows": rows, "Mean": mean, "Authors": authors, "Names": metrics.Names,
		"AuthorsName": metrics.AuthorsPROName, "Sections": b.sections, "Options": b.opts, "PanelWidth": PanelWidth}
	return atomicfile.Write(filepath.Join(b.dir, FileName), func(w io.Writer) error { return page.Execute(w, data) })
}

// writeIcon writes the page's icon (so that a browser asks for no other): the
// heatmaps' colour scale, 16×16.
func writeIcon(path string) error {
	cmap, err := imaging.LookupColormap("inferno")
	if err != nil {
		return err
	}
	m := make([]float32, 16*16)
	for i := range m {
		m[i] = float32(i%16+i/16) / 30
	}
	return imaging.WritePNG(path, cmap.Colorize(m, 16, 16))
}

// formatValue is a metric in percent, "n/a" when undefined.
func formatValue(v any) string {
	switch x := v.(type) {
	case metrics.Value:
		if !x.Defined() {
			return "n/a"
		}
		return fmt.Sprintf("%.2f", 100*float64(x))
	case *metrics.Value:
		if x == nil {
			return "–"
		}
		return formatValue(*x)
	}
	return fmt.Sprint(v)
}

// formatNumber is a threshold or score, "none" when infinite.
func formatNumber(v float64) string {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return "none"
	}
	return fmt.Sprintf("%.4g", v)
}
