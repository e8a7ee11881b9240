package report

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"path/filepath"

	"github.com/ideal-fsad/ideal/imaging"
)

// The panel's layout: 448 pixels wide, two tiles a row.
const (
	// PanelWidth is the width of a query's panel in pixels.
	PanelWidth = 2*tile + gap
	tile       = 222
	gap        = 4
	header     = 44
	barHeight  = 38
)

// Outcome is a query's verdict against its ground truth.
type Outcome string

const (
	FalseNegative Outcome = "FN"
	FalsePositive Outcome = "FP"
	TruePositive  Outcome = "TP"
	TrueNegative  Outcome = "TN"
)

// outcome is the verdict of a score at the threshold against the label.
func outcome(score, threshold float64, anomalous bool) Outcome {
	switch pred := score >= threshold; {
	case anomalous && !pred:
		return FalseNegative
	case anomalous:
		return TruePositive
	case pred:
		return FalsePositive
	}
	return TrueNegative
}

// scale is what the panels of a class share: the heatmap's range and the thresholds.
type scale struct {
	lo, hi   float64 // the class's range of pixel scores
	pixel    float64 // the pixel threshold of the predicted region
	image    float64 // the image threshold of the verdicts
	colormap imaging.Colormap
}

// norm maps a pixel score to [0, 1] on the class's scale.
func (s scale) norm(v float64) float32 { return float32((v - s.lo) / max(s.hi-s.lo, 1e-12)) }

// tiles are a query's tiles at the tile size.
type tiles struct {
	w, h     int
	img      *imaging.RGB
	pix      []float32 // pixel scores, nearest-resized
	mask     []bool    // nil for a normal query
	readNote string    // why the image could not be read, "" when it was
}

// newTiles resizes a query's image (bicubic), map and mask (nearest) to the tile size.
func newTiles(q *Query) *tiles {
	t := &tiles{w: tile, h: max(1, int(math.Round(float64(tile)*float64(q.H)/float64(q.W))))}
	t.pix = imaging.ResizeMapNearest(q.Pixels, q.W, q.H, t.w, t.h)
	if q.Mask != nil {
		t.mask = (&imaging.Mask{W: q.W, H: q.H, Pix: q.Mask}).ResizeNearest(t.w, t.h).Pix
	}
	img, err := imaging.LoadRGB(q.Path)
	if err != nil {
		t.img, t.readNote = imaging.NewRGB(t.w, t.h), "image unreadable"
		return t
	}
	t.img = imaging.Resize(img, t.w, t.h)
	return t
}

// renderPanel draws a query's panel: name, score and verdict on top; image | ground
// truth, heatmap | overlay with the contours; the heatmap's colour bar below.
func renderPanel(q *Query, t *tiles, s scale) *image.RGBA {
	h := header + 2*t.h + gap + barHeight
	dst := image.NewRGBA(image.Rect(0, 0, PanelWidth, h))
	fill(dst, dst.Bounds(), background)
	writeHeader(dst, q, s)
	y0, y1 := header, header+t.h+gap
	r := func(x, y int) image.Rectangle { return image.Rect(x, y, x+t.w, y+t.h) }
	paste(dst, image.Pt(0, y0), t.img)
	label(dst, r(0, y0), "image")
	if t.readNote != "" {
		text(dst, "small", 8, y0+40, color.White, t.readNote)
	}
	drawGroundTruth(dst, r(tile+gap, y0), t)
	heat := s.colormap.Colorize(normed(t.pix, s), t.w, t.h)
	paste(dst, image.Pt(0, y1), heat)
	label(dst, r(0, y1), "pixel scores")
	paste(dst, image.Pt(tile+gap, y1), overlay(t, s))
	labelParts(dst, r(tile+gap, y1), part{"overlay: ", color.White}, part{"ground truth", GroundTruthColor},
		part{", ", color.White}, part{"predicted", PredictedColor})
	colourBar(dst, y1+t.h+2, s)
	return dst
}

// writeHeader writes the query's name, its image score and the verdict.
func writeHeader(dst *image.RGBA, q *Query, s scale) {
	name := filepath.Join(q.DefectType, filepath.Base(q.Path))
	text(dst, "bold", 4, 17, ink, name)
	o := outcome(q.Score, s.image, q.Anomalous)
	verdict := map[Outcome]string{FalseNegative: "MISSED anomaly (FN)", FalsePositive: "FALSE ALARM (FP)",
		TruePositive: "anomaly found (TP)", TrueNegative: "good, right (TN)"}[o]
	c := rightInk
	if o == FalseNegative || o == FalsePositive {
		c = wrongInk
	}
	x := 4 + text(dst, "text", 4, 37, ink, fmt.Sprintf("score %.4g (threshold %s) → ", q.Score, formatNumber(s.image)))
	text(dst, "text", x, 37, c, verdict)
}

// drawGroundTruth draws the mask white on black, or says that there is none.
func drawGroundTruth(dst *image.RGBA, r image.Rectangle, t *tiles) {
	fill(dst, r, color.Black)
	if t.mask == nil {
		text(dst, "text", r.Min.X+8, r.Min.Y+t.h/2, color.Gray{190}, "good: no defect")
	} else {
		gt := imaging.NewRGB(t.w, t.h)
		paint(gt, t.mask, color.RGBA{255, 255, 255, 255})
		paste(dst, r.Min, gt)
	}
	label(dst, r, "ground truth")
}

// normed is a map on the class's scale.
func normed(pix []float32, s scale) []float32 {
	out := make([]float32, len(pix))
	for i, v := range pix {
		out[i] = s.norm(float64(v))
	}
	return out
}

// overlay is the image under the heatmap (40 %), the contour of the pixels at or
// above the pixel threshold and the ground truth's contour on top.
func overlay(t *tiles, s scale) *imaging.RGB {
	out := imaging.Overlay(t.img, normed(t.pix, s), s.colormap, 0.4)
	pred := make([]bool, len(t.pix))
	for i, v := range t.pix {
		pred[i] = float64(v) >= s.pixel
	}
	paint(out, imaging.Contour(pred, t.w, t.h, 2), PredictedColor)
	if t.mask != nil {
		paint(out, imaging.Contour(t.mask, t.w, t.h, 2), GroundTruthColor)
	}
	return out
}

// colourBar draws the heatmap's colour scale with its range and the pixel threshold.
func colourBar(dst *image.RGBA, y int, s scale) {
	const x0, w = 4, PanelWidth - 8
	for x := range w {
		c := s.colormap.At(float32(x) / float32(w-1))
		fill(dst, image.Rect(x0+x, y, x0+x+1, y+10), color.RGBA{c[0], c[1], c[2], 255})
	}
	if v := s.norm(s.pixel); v >= 0 && v <= 1 && !math.IsNaN(s.pixel) {
		x := x0 + int(v*float32(w-1))
		fill(dst, image.Rect(x-1, y-2, x+2, y+12), PredictedColor)
		fill(dst, image.Rect(x, y-2, x+1, y+12), color.Black)
	}
	lo, hi := fmt.Sprintf("%.3g", s.lo), fmt.Sprintf("%.3g", s.hi)
	text(dst, "small", x0, y+25, ink, lo)
	text(dst, "small", x0+w-textWidth("small", hi), y+25, ink, hi)
	mid := fmt.Sprintf("pixel score, per-class scale; | predicted ≥ %.3g", s.pixel)
	text(dst, "small", x0+(w-textWidth("small", mid))/2, y+25, ink, mid)
}
