package viewer

import (
	"image"
	"image/color"
	stddraw "image/draw"

	"golang.org/x/image/draw"
)

// Panel geometry: gaps and the line under each thumbnail for its label.
const (
	PanelPad    = 6
	PanelLabel  = 14
	minThumb    = 16
	panelMinW   = 64
	panelMaxW   = 200
	selectedPad = 2 // the frame around the reference being edited
)

// Colours of the reference panel.
var (
	PanelBackground = [3]uint8{16, 16, 16}
	SelectedColour  = [3]uint8{255, 200, 0} // frame of the reference being edited
)

// Panel is the layout of the reference panel along the window's right edge: one
// square thumbnail per reference (normal ones first), each with a label line under it.
type Panel struct {
	X, W, H int               // the panel's left edge, width and height on the screen
	Thumbs  []image.Rectangle // each reference's thumbnail, in screen coordinates
}

// PanelWidth is the panel's width in a w-wide window: a fifth, within [64, 200].
func PanelWidth(w int) int { return min(max(w/5, panelMinW), panelMaxW) }

// LayoutPanel lays n references out in a w×h window: thumbnails as large as the
// panel's width and the height allow (at least 16 pixels; those that do not fit fall
// off the bottom).
func LayoutPanel(n, w, h int) Panel {
	pw := PanelWidth(w)
	p := Panel{X: w - pw, W: pw, H: h}
	if n == 0 {
		return p
	}
	side := max(min(pw-2*PanelPad, (h-PanelPad)/n-PanelPad-PanelLabel), minThumb)
	for i := range n {
		x := p.X + (pw-side)/2
		y := PanelPad + i*(side+PanelLabel+PanelPad)
		p.Thumbs = append(p.Thumbs, image.Rect(x, y, x+side, y+side))
	}
	return p
}

// Hit returns the reference whose thumbnail holds screen point (x, y), or -1.
func (p Panel) Hit(x, y int) int {
	pt := image.Pt(x, y)
	for i, r := range p.Thumbs {
		if pt.In(r) {
			return i
		}
	}
	return -1
}

// Render draws the panel (p.W×p.H, panel coordinates): each reference scaled into its
// thumbnail (aspect kept; a features file shows as a dark square), the abnormal ones
// with their mask's contour in MaskEdge, and a SelectedColour frame around reference
// selected (-1: none).
func (p Panel) Render(refs []Reference, selected int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, p.W, p.H))
	fill(out, out.Rect, PanelBackground)
	for i, r := range p.Thumbs {
		if i >= len(refs) {
			break
		}
		r = r.Sub(image.Pt(p.X, 0))
		if i == selected {
			fill(out, r.Inset(-selectedPad), SelectedColour)
			fill(out, r, PanelBackground)
		}
		stddraw.Draw(out, r, thumbnail(refs[i], r.Dx(), r.Dy()), image.Point{}, stddraw.Src)
	}
	return out
}

func fill(img *image.RGBA, r image.Rectangle, c [3]uint8) {
	stddraw.Draw(img, r.Intersect(img.Rect), image.NewUniform(color.RGBA{c[0], c[1], c[2], 255}), image.Point{}, stddraw.Src)
}

// thumbnail scales a reference into a w×h box, centred, aspect kept.
func thumbnail(ref Reference, w, h int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(out, out.Rect, PanelBackground)
	iw, ih := 16, 16
	if ref.Image != nil {
		iw, ih = ref.Image.W, ref.Image.H
	} else if ref.Mask != nil {
		iw, ih = ref.Mask.W, ref.Mask.H
	}
	tw, th := w, h
	if iw*h > ih*w {
		th = max(1, ih*w/iw)
	} else {
		tw = max(1, iw*h/ih)
	}
	dst := image.Rect((w-tw)/2, (h-th)/2, (w-tw)/2+tw, (h-th)/2+th)
	if ref.Image != nil {
		draw.ApproxBiLinear.Scale(out, dst, ref.Image.RGBA(), ref.Image.Bounds(), draw.Src, nil)
	} else {
		fill(out, dst, [3]uint8{48, 48, 48})
	}
	if ref.Mask != nil {
		small := ref.Mask.ResizeNearest(tw, th)
		for i, e := range MaskContour(small) {
			if e {
				x, y := dst.Min.X+i%tw, dst.Min.Y+i/tw
				copy(out.Pix[out.PixOffset(x, y):], MaskEdge[:])
			}
		}
	}
	return out
}
