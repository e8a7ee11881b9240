package report

import (
	"image"
	"image/color"
	"image/draw"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/ideal-fsad/ideal/imaging"
)

// The colours of the panels.
var (
	// GroundTruthColor draws the ground truth's contour.
	GroundTruthColor = color.RGBA{0, 255, 0, 255}
	// PredictedColor draws the contour of the region predicted anomalous.
	PredictedColor = color.RGBA{0, 255, 255, 255}

	background = color.RGBA{255, 255, 255, 255}
	ink        = color.RGBA{20, 20, 20, 255}
	wrongInk   = color.RGBA{200, 0, 0, 255}
	rightInk   = color.RGBA{0, 120, 0, 255}
	labelBack  = color.RGBA{0, 0, 0, 170}
)

// faces are the Go fonts at the panels' sizes, parsed once.
var faces = sync.OnceValue(func() map[string]font.Face {
	face := func(ttf []byte, size float64) font.Face {
		f, err := opentype.Parse(ttf)
		if err != nil {
			panic(err) // the fonts are compiled in
		}
		fc, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
		if err != nil {
			panic(err)
		}
		return fc
	}
	return map[string]font.Face{"bold": face(gobold.TTF, 15), "text": face(goregular.TTF, 14), "small": face(goregular.TTF, 12)}
})

// fontMu serialises the use of the faces (an opentype face is not safe for
// concurrent use).
var fontMu sync.Mutex

// text writes s with its baseline at (x, y) and returns its width.
func text(dst draw.Image, face string, x, y int, c color.Color, s string) int {
	fontMu.Lock()
	defer fontMu.Unlock()
	d := &font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: faces()[face], Dot: fixed.P(x, y)}
	d.DrawString(s)
	return (d.Dot.X - fixed.I(x)).Ceil()
}

// textWidth is the width of s in face.
func textWidth(face, s string) int {
	fontMu.Lock()
	defer fontMu.Unlock()
	return font.MeasureString(faces()[face], s).Ceil()
}

// label writes s on a dark box at the top left of r.
func label(dst *image.RGBA, r image.Rectangle, s string) {
	labelParts(dst, r, part{s, color.White})
}

// part is a piece of a label in its colour.
type part struct {
	s string
	c color.Color
}

// labelParts writes the parts one after the other on a dark box at the top left of r.
func labelParts(dst *image.RGBA, r image.Rectangle, parts ...part) {
	w := 0
	for _, p := range parts {
		w += textWidth("small", p.s)
	}
	box := image.Rect(r.Min.X, r.Min.Y, r.Min.X+w+8, r.Min.Y+17).Intersect(r)
	draw.Draw(dst, box, image.NewUniform(labelBack), image.Point{}, draw.Over)
	x := r.Min.X + 4
	for _, p := range parts {
		x += text(dst, "small", x, r.Min.Y+13, p.c, p.s)
	}
}

// paste copies an RGB picture to dst at p.
func paste(dst *image.RGBA, p image.Point, src *imaging.RGB) {
	draw.Draw(dst, image.Rect(p.X, p.Y, p.X+src.W, p.Y+src.H), src.RGBA(), image.Point{}, draw.Src)
}

// paint colours the pixels of a w×h mask in an RGB picture of that size.
func paint(img *imaging.RGB, mask []bool, c color.RGBA) {
	for i, on := range mask {
		if on {
			img.Pix[3*i], img.Pix[3*i+1], img.Pix[3*i+2] = c.R, c.G, c.B
		}
	}
}

// fill fills r with c.
func fill(dst *image.RGBA, r image.Rectangle, c color.Color) {
	draw.Draw(dst, r, image.NewUniform(c), image.Point{}, draw.Src)
}
