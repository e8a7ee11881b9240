package viewer

import (
	"errors"
	"fmt"
	"image"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ideal-fsad/ideal/imaging"
)

// Colours of the mask editor.
var (
	MaskTint   = [3]uint8{255, 48, 48}   // defect pixels, blended over the reference
	MaskEdge   = [3]uint8{255, 0, 0}     // the mask's contour (also on the thumbnails)
	BrushColor = [3]uint8{255, 255, 255} // the brush outline under the pointer
)

// MaskTintOpacity is how strongly MaskTint covers the defect pixels while editing.
const MaskTintOpacity = 0.4

// maxUndo bounds the undo stack (each entry is a copy of the mask).
const maxUndo = 64

// Editor paints the defect mask of one abnormal reference with a round brush. Screen
// positions go through its View (the reference shown large); the mask keeps its own
// resolution (the reference image's, or the mask file's for a features file). A stroke
// is Begin, MoveTo…, End; each stroke that changed the mask can be undone.
type Editor struct {
	View
	Ref   int           // index of the reference among the abnormal ones
	Base  *imaging.RGB  // the reference image, nil for a features file
	Mask  *imaging.Mask // the mask being edited
	Brush float64       // brush radius in mask pixels

	undo         []*imaging.Mask
	before       *imaging.Mask // the mask when the stroke began; nil outside a stroke
	shown        *image.RGBA   // Render's picture of the mask at its own size; nil when stale
	erase        bool
	lastX, lastY float64 // last stamped position, in mask pixels
}

// NewEditor starts editing a copy of mask (base may be nil; when not, it must be the
// mask's size). The brush starts at 1/32 of the mask's larger side.
func NewEditor(ref int, base *imaging.RGB, mask *imaging.Mask) *Editor {
	if base != nil && (base.W != mask.W || base.H != mask.H) {
		panic(fmt.Sprintf("viewer: editor base %d×%d, mask %d×%d", base.W, base.H, mask.W, mask.H))
	}
	return &Editor{View: View{Zoom: 1}, Ref: ref, Base: base, Mask: cloneMask(mask),
		Brush: max(1, float64(max(mask.W, mask.H))/32)}
}

func cloneMask(m *imaging.Mask) *imaging.Mask {
	return &imaging.Mask{W: m.W, H: m.H, Pix: slices.Clone(m.Pix)}
}

// Fit shows the whole mask in a w×h area.
func (e *Editor) Fit(w, h int) { e.FitImage(e.Mask.W, e.Mask.H, w, h) }

// AdjustBrush multiplies the brush radius by f, kept in [0.5, half the larger side].
func (e *Editor) AdjustBrush(f float64) {
	e.Brush = min(max(e.Brush*f, 0.5), max(0.5, float64(max(e.Mask.W, e.Mask.H))/2))
}

// Stroking reports whether a stroke is in progress.
func (e *Editor) Stroking() bool { return e.before != nil }

// Begin starts a stroke at screen point (x, y): painting, or erasing when erase is set.
func (e *Editor) Begin(x, y float64, erase bool) {
	e.before = cloneMask(e.Mask)
	e.erase = erase
	e.lastX, e.lastY = e.ToImage(x, y)
	e.stamp(e.lastX, e.lastY)
}

// MoveTo continues the stroke to screen point (x, y), stamping the brush along the
// way (at most half a radius apart, so the trace has no gaps). Outside a stroke it
// does nothing.
func (e *Editor) MoveTo(x, y float64) {
	if e.before == nil {
		return
	}
	ix, iy := e.ToImage(x, y)
	dx, dy := ix-e.lastX, iy-e.lastY
	steps := int(math.Ceil(math.Hypot(dx, dy) / max(e.Brush/2, 0.5)))
	for i := 1; i <= steps; i++ {
		t := float64(i) / float64(steps)
		e.stamp(e.lastX+t*dx, e.lastY+t*dy)
	}
	e.lastX, e.lastY = ix, iy
}

// End finishes the stroke; it reports whether the mask changed (then the stroke can
// be undone, and the references must be prepared again).
func (e *Editor) End() bool {
	if e.before == nil {
		return false
	}
	before := e.before
	e.before = nil
	if slices.Equal(before.Pix, e.Mask.Pix) {
		return false
	}
	e.undo = append(e.undo, before)
	if len(e.undo) > maxUndo {
		e.undo = slices.Delete(e.undo, 0, 1)
	}
	return true
}

// Undo restores the mask as it was before the last stroke; false when there is none.
func (e *Editor) Undo() bool {
	if e.before != nil || len(e.undo) == 0 {
		return false
	}
	e.Mask = e.undo[len(e.undo)-1]
	e.undo = e.undo[:len(e.undo)-1]
	e.shown = nil
	return true
}

// CanUndo reports whether a stroke can be undone.
func (e *Editor) CanUndo() bool { return len(e.undo) > 0 }

// stamp sets (or clears) the mask pixels whose centres lie within the brush radius of
// mask point (cx, cy), and the pixel under the point itself.
func (e *Editor) stamp(cx, cy float64) {
	m := e.Mask
	e.shown = nil
	r := e.Brush
	x0, x1 := max(int(math.Floor(cx-r)), 0), min(int(math.Ceil(cx+r)), m.W-1)
	y0, y1 := max(int(math.Floor(cy-r)), 0), min(int(math.Ceil(cy+r)), m.H-1)
	for y := y0; y <= y1; y++ {
		for x := x0; x <= x1; x++ {
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			if dx*dx+dy*dy <= r*r {
				m.Pix[y*m.W+x] = !e.erase
			}
		}
	}
	if x, y := int(math.Floor(cx)), int(math.Floor(cy)); x >= 0 && y >= 0 && x < m.W && y < m.H {
		m.Pix[y*m.W+x] = !e.erase
	}
}

// Warning is what the inspector should know about the mask: an empty mask makes the
// head fall back to the reference's patches of largest deviation.
func (e *Editor) Warning() string {
	if e.Mask.Empty() {
		return "the mask is empty: the head will use the patches of largest deviation instead"
	}
	return ""
}

// Render draws the reference into a w×h area through the view: the image (black
// without one) with the defect pixels tinted MaskTint, the mask's contour in MaskEdge,
// and, when brush is set, the brush outline around screen point (cx, cy).
func (e *Editor) Render(w, h int, cx, cy float64, brush bool) *image.RGBA {
	if e.shown == nil {
		e.shown = e.picture()
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	e.blit(out.Pix, w, h, e.shown.Pix, e.Mask.W, e.Mask.H)
	if brush {
		r := e.Brush * e.Zoom
		for a := 0.0; a < 2*math.Pi; a += 1 / max(r, 1) {
			x, y := int(math.Floor(cx+r*math.Cos(a))), int(math.Floor(cy+r*math.Sin(a)))
			if x >= 0 && y >= 0 && x < w && y < h {
				copy(out.Pix[4*(y*w+x):], BrushColor[:])
			}
		}
	}
	return out
}

// picture is the reference with its mask at the mask's size (see Render).
func (e *Editor) picture() *image.RGBA {
	m := e.Mask
	src := image.NewRGBA(image.Rect(0, 0, m.W, m.H))
	edge := MaskContour(m)
	for i, d := range m.Pix {
		var c [3]uint8
		if e.Base != nil {
			copy(c[:], e.Base.Pix[3*i:3*i+3])
		}
		switch {
		case edge[i]:
			c = MaskEdge
		case d:
			for j := range 3 {
				c[j] = uint8(math.Round((1-MaskTintOpacity)*float64(c[j]) + MaskTintOpacity*float64(MaskTint[j])))
			}
		}
		copy(src.Pix[4*i:], c[:])
		src.Pix[4*i+3] = 255
	}
	return src
}

// EditedPath is where an edited mask of the mask file orig is saved: NAME_edited.png
// beside it, or NAME_edited_2.png, _3… when that exists already (the user's files are
// never overwritten).
func EditedPath(orig string) (string, error) {
	base := strings.TrimSuffix(orig, filepath.Ext(orig)) + "_edited"
	for i := 1; i < 1000; i++ {
		p := base + ".png"
		if i > 1 {
			p = fmt.Sprintf("%s_%d.png", base, i)
		}
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return p, nil
		} else if err != nil {
			return "", fmt.Errorf("viewer: %w", err)
		}
	}
	return "", fmt.Errorf("viewer: no free name for the edited mask beside %s", orig)
}

// SaveMask writes a mask as an 8-bit PNG (defect 255) atomically.
func SaveMask(path string, m *imaging.Mask) error {
	if err := imaging.WritePNG(path, m.Image()); err != nil {
		return fmt.Errorf("viewer: %w", err)
	}
	return nil
}
