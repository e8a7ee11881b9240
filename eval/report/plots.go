package report

import (
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/ideal-fsad/ideal/internal/atomicfile"
	"github.com/ideal-fsad/ideal/metrics"
)

// The plots' size and resolution: 432×324 pixels.
const (
	plotW, plotH = 4.5 * vg.Inch, 3.375 * vg.Inch
	plotDPI      = 96
)

var (
	curveColor = color.RGBA{31, 119, 180, 255}
	goodColor  = color.NRGBA{44, 160, 44, 140}
	badColor   = color.NRGBA{214, 39, 40, 140}
	thrColor   = color.RGBA{0, 0, 0, 255}
)

// curvePlot is a curve on [0, xMax] × [0, 1], with the chance diagonal for a ROC.
type curvePlot struct {
	title, x, y string
	points      []metrics.CurvePoint
	xMax        float64
	diagonal    bool
}

// write draws the plot as a PNG at path, atomically.
func (c curvePlot) write(path string) error {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = c.title, c.x, c.y
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, c.xMax, 0, 1.02
	p.Add(plotter.NewGrid())
	if c.diagonal {
		d, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
		if err != nil {
			return err
		}
		d.Color, d.Dashes = color.Gray{160}, []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(d)
	}
	xys := make(plotter.XYs, len(c.points))
	for i, pt := range c.points {
		xys[i] = plotter.XY{X: pt.X, Y: pt.Y}
	}
	if len(xys) > 0 {
		l, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		l.Color, l.Width = curveColor, vg.Points(1.5)
		p.Add(l)
	}
	return savePlot(p, path)
}

// savePlot writes p as a PNG, atomically.
func savePlot(p *plot.Plot, path string) error {
	c := vgimg.NewWith(vgimg.UseWH(plotW, plotH), vgimg.UseDPI(plotDPI), vgimg.UseBackgroundColor(color.White))
	p.Draw(draw.New(c))
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: c}.WriteTo(w)
		return err
	})
}

// histPlot writes the histogram of the image scores of the good and the anomalous
// queries (shared bins) with the threshold marked.
func histPlot(path, title string, good, bad []float64, threshold float64) error {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range append(append([]float64{}, good...), bad...) {
		lo, hi = min(lo, v), max(hi, v)
	}
	if !math.IsNaN(threshold) && !math.IsInf(threshold, 0) {
		lo, hi = min(lo, threshold), max(hi, threshold)
	}
	if hi <= lo {
		lo, hi = lo-0.5, lo+0.5
	}
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, "image score", "queries"
	p.Legend.Top = true
	top := 1.0
	for _, s := range []struct {
		name   string
		values []float64
		fill   color.Color
	}{{"good", good, goodColor}, {"anomalous", bad, badColor}} {
		h := &plotter.Histogram{Bins: bins(s.values, lo, hi, 20), Width: (hi - lo) / 20, FillColor: s.fill}
		for _, b := range h.Bins {
			top = max(top, b.Weight)
		}
		h.LineStyle = draw.LineStyle{Color: s.fill, Width: vg.Points(0.5)}
		p.Add(h)
		p.Legend.Add(s.name, h)
	}
	if !math.IsNaN(threshold) && !math.IsInf(threshold, 0) {
		l, err := plotter.NewLine(plotter.XYs{{X: threshold, Y: 0}, {X: threshold, Y: top}})
		if err != nil {
			return err
		}
		l.Color, l.Width, l.Dashes = thrColor, vg.Points(1.5), []vg.Length{vg.Points(4), vg.Points(2)}
		p.Add(l)
		p.Legend.Add("threshold", l)
	}
	return savePlot(p, path)
}

// bins counts values in n equal bins over [lo, hi].
func bins(values []float64, lo, hi float64, n int) []plotter.HistogramBin {
	out := make([]plotter.HistogramBin, n)
	w := (hi - lo) / float64(n)
	for i := range out {
		out[i].Min, out[i].Max = lo+float64(i)*w, lo+float64(i+1)*w
	}
	for _, v := range values {
		out[min(max(int((v-lo)/w), 0), n-1)].Weight++
	}
	return out
}
