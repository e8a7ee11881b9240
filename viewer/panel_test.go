package viewer

import (
	"image"
	"testing"

	"github.com/ideal-fsad/ideal/imaging"
)

// TestPanelLayout: three references in 1000×600: the panel is 200 wide at x 800;
// thumbnails are min(200 − 12, 594/3 − 6 − 14) = 178 square, centred (x 811), every
// 178 + 14 + 6 = 198 pixels from y 6.
func TestPanelLayout(t *testing.T) {
	p := LayoutPanel(3, 1000, 600)
	if p.X != 800 || p.W != 200 || p.H != 600 || len(p.Thumbs) != 3 {
		t.Fatalf("panel %+v", p)
	}
	for i, want := range []image.Rectangle{image.Rect(811, 6, 989, 184), image.Rect(811, 204, 989, 382), image.Rect(811, 402, 989, 580)} {
		if p.Thumbs[i] != want {
			t.Errorf("thumbnail %d at %v, want %v", i, p.Thumbs[i], want)
		}
	}
	for _, c := range []struct{ x, y, want int }{
		{811, 6, 0}, {810, 6, -1}, {988, 183, 0}, {989, 100, -1}, {900, 190, -1},
		{900, 214, 1}, {900, 579, 2}, {900, 590, -1}, {400, 100, -1},
	} {
		if got := p.Hit(c.x, c.y); got != c.want {
			t.Errorf("Hit(%d, %d) = %d, want %d", c.x, c.y, got, c.want)
		}
	}
	if w := PanelWidth(200); w != 64 {
		t.Errorf("narrow window: panel %d wide, want the minimum 64", w)
	}
	if p := LayoutPanel(100, 1000, 600); p.Thumbs[1].Dy() != 16 {
		t.Errorf("crowded panel: thumbnails %d high, want the minimum 16", p.Thumbs[1].Dy())
	}
	if p := LayoutPanel(0, 300, 300); len(p.Thumbs) != 0 || p.Hit(299, 10) != -1 {
		t.Errorf("empty panel %+v", p)
	}
}

// TestPanelRender: a white 20×10 abnormal reference whose mask is its left half, in a
// 40×40 thumbnail: scaled to 40×20 and centred (y 10–29); the mask's contour runs
// along x 0 and x 19 of the thumbnail; the selected frame surrounds it.
func TestPanelRender(t *testing.T) {
	img := imaging.NewRGB(20, 10)
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	m := imaging.NewMask(20, 10)
	for y := range 10 {
		for x := range 10 {
			m.Pix[y*20+x] = true
		}
	}
	refs := []Reference{{Path: "n.safetensors"}, {Path: "a.png", Abnormal: true, Image: img, Mask: m}}
	p := Panel{X: 100, W: 60, H: 120, Thumbs: []image.Rectangle{image.Rect(110, 5, 150, 45), image.Rect(110, 60, 150, 100)}}
	out := p.Render(refs, 1)
	px := func(x, y int) [3]uint8 { o := out.PixOffset(x-100, y); return [3]uint8(out.Pix[o : o+3]) }
	for _, c := range []struct {
		x, y int
		want [3]uint8
		what string
	}{
		{105, 2, PanelBackground, "panel background"},
		{110, 20, [3]uint8{48, 48, 48}, "features-file placeholder"},
		{140, 80, [3]uint8{255, 255, 255}, "image"},
		{130, 65, PanelBackground, "letterbox"},
		{110, 80, MaskEdge, "mask contour, left edge"},
		{129, 80, MaskEdge, "mask contour, right edge"},
		{120, 80, [3]uint8{255, 255, 255}, "inside the mask"},
		{109, 80, SelectedColour, "selected frame"},
		{109, 20, PanelBackground, "no frame around the normal one"},
	} {
		if got := px(c.x, c.y); got != c.want {
			t.Errorf("%s at (%d,%d): %v, want %v", c.what, c.x, c.y, got, c.want)
		}
	}
}
