package viewer

import "math"

// View maps an image onto the screen: screen = Pan + Zoom·image.
type View struct {
	Zoom float64 // screen pixels per image pixel
	PanX float64 // screen position of the image's left edge
	PanY float64 // screen position of the image's top edge
}

// ZoomAt multiplies the zoom by f (kept in [1/16, 64]) keeping screen point (x, y) fixed.
func (v *View) ZoomAt(x, y, f float64) {
	nz := min(max(v.Zoom*f, 1.0/16), 64)
	f = nz / v.Zoom
	v.PanX = x - (x-v.PanX)*f
	v.PanY = y - (y-v.PanY)*f
	v.Zoom = nz
}

// PanBy moves the image by (dx, dy) screen pixels.
func (v *View) PanBy(dx, dy float64) { v.PanX += dx; v.PanY += dy }

// FitImage sets zoom and pan so an iw×ih image fills a w×h screen, centred.
func (v *View) FitImage(iw, ih, w, h int) {
	v.Zoom = min(float64(w)/float64(iw), float64(h)/float64(ih))
	v.PanX = (float64(w) - v.Zoom*float64(iw)) / 2
	v.PanY = (float64(h) - v.Zoom*float64(ih)) / 2
}

// ToImage returns the image position under screen point (x, y) (continuous: pixel
// (i, j) covers [i, i+1)×[j, j+1)).
func (v *View) ToImage(x, y float64) (ix, iy float64) {
	return (x - v.PanX) / v.Zoom, (y - v.PanY) / v.Zoom
}

// blit draws src (sw×sh, RGBA) into dst (dw×dh, RGBA) through the view, nearest
// neighbour, Background where the image is not.
func (v *View) blit(dst []uint8, dw, dh int, src []uint8, sw, sh int) {
	for y := range dh {
		iy := int(math.Floor((float64(y) + 0.5 - v.PanY) / v.Zoom))
		for x := range dw {
			ix := int(math.Floor((float64(x) + 0.5 - v.PanX) / v.Zoom))
			o := dst[4*(y*dw+x):]
			if ix < 0 || iy < 0 || ix >= sw || iy >= sh {
				copy(o, Background[:])
			} else {
				copy(o, src[4*(iy*sw+ix):4*(iy*sw+ix)+3])
			}
			o[3] = 255
		}
	}
}
