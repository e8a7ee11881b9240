package viewer

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/imaging"
)

func set(m *imaging.Mask) [][2]int {
	var out [][2]int
	for i, v := range m.Pix {
		if v {
			out = append(out, [2]int{i % m.W, i / m.W})
		}
	}
	return out
}

// TestBrushThroughZoomPan stamps once through zoom 2 and pan (10, 20): the pointer at
// screen (51, 41) is mask point (20.5, 10.5); radius 3 covers the 29 pixel centres
// with dx² + dy² ≤ 9 (dx, dy integers).
func TestBrushThroughZoomPan(t *testing.T) {
	e := NewEditor(0, nil, imaging.NewMask(64, 48))
	e.View = View{Zoom: 2, PanX: 10, PanY: 20}
	e.Brush = 3
	e.Begin(51, 41, false)
	if !e.Stroking() {
		t.Fatal("not stroking after Begin")
	}
	if !e.End() {
		t.Fatal("End: the stamp changed nothing")
	}
	got := set(e.Mask)
	if len(got) != 29 {
		t.Fatalf("%d pixels set, want 29: %v", len(got), got)
	}
	for _, p := range [][2]int{{20, 10}, {23, 10}, {17, 10}, {20, 13}, {20, 7}, {22, 12}, {18, 8}} {
		if !e.Mask.Pix[p[1]*64+p[0]] {
			t.Errorf("pixel %v not set", p)
		}
	}
	for _, p := range [][2]int{{23, 11}, {24, 10}, {20, 14}, {23, 13}} {
		if e.Mask.Pix[p[1]*64+p[0]] {
			t.Errorf("pixel %v set", p)
		}
	}
}

// TestStrokeAndErase: a horizontal stroke of radius 1 along row 10 from x 2.5 to 40.5
// sets row 10 from x 1 to 41 (41 pixels) and rows 9 and 11 from x 2 to 40 (39 each):
// no gaps between stamps. Erasing clears; undo walks back stroke by stroke.
func TestStrokeAndErase(t *testing.T) {
	e := NewEditor(0, nil, imaging.NewMask(50, 20))
	e.Brush = 1
	e.Begin(2.5, 10.5, false)
	e.MoveTo(20, 10.5)
	e.MoveTo(40.5, 10.5)
	e.End()
	if n := e.Mask.Count(); n != 41+2*39 {
		t.Fatalf("%d pixels set, want 119", n)
	}
	for x := 1; x <= 41; x++ {
		if !e.Mask.Pix[10*50+x] {
			t.Fatalf("gap at (%d, 10)", x)
		}
	}
	stroke1 := slices.Clone(e.Mask.Pix)
	// Erase the middle with a radius-4 stamp through zoom 0.5 and pan: mask (20.5, 10.5).
	e.View = View{Zoom: 0.5, PanX: 100, PanY: 0}
	e.Brush = 4
	e.Begin(100+0.5*20.5, 0.5*10.5, true)
	if !e.End() {
		t.Fatal("erasing changed nothing")
	}
	for x := 16; x <= 24; x++ { // centres within 4 of 20.5
		if e.Mask.Pix[10*50+x] {
			t.Errorf("(%d, 10) not erased", x)
		}
	}
	if !e.Mask.Pix[10*50+15] || !e.Mask.Pix[10*50+25] {
		t.Error("erased beyond the brush")
	}
	// A stroke that changes nothing (erasing where nothing is) is not an undo step.
	e.Begin(100+0.5*45, 0.5*2, true)
	if e.End() {
		t.Error("an empty erase reported a change")
	}
	if !e.Undo() || !slices.Equal(e.Mask.Pix, stroke1) {
		t.Error("undo did not restore the first stroke")
	}
	if !e.Undo() || e.Mask.Count() != 0 {
		t.Error("second undo did not restore the empty mask")
	}
	if e.Undo() || e.CanUndo() {
		t.Error("undo past the start")
	}
	if e.Warning() == "" {
		t.Error("no warning for an empty mask")
	}
	// MoveTo and End outside a stroke do nothing.
	e.MoveTo(10, 10)
	if e.End() || e.Mask.Count() != 0 {
		t.Error("MoveTo outside a stroke painted")
	}
	// Stamps off the mask are clipped.
	e.View = View{Zoom: 1}
	e.Brush = 2
	e.Begin(-10, -10, false)
	e.MoveTo(-0.5, -0.5) // (0, 0)'s centre is √2 away, (1, 0)'s √5
	e.End()
	if got := set(e.Mask); !slices.Equal(got, [][2]int{{0, 0}}) {
		t.Errorf("off-mask stroke set %v, want only (0,0)", got)
	}
}

func TestEditorCopiesAndBrushLimits(t *testing.T) {
	m := imaging.NewMask(64, 32)
	e := NewEditor(2, imaging.NewRGB(64, 32), m)
	if e.Brush != 2 {
		t.Errorf("brush %v, want 64/32", e.Brush)
	}
	e.Begin(5, 5, false)
	e.End()
	if m.Count() != 0 {
		t.Error("the editor painted the caller's mask")
	}
	e.AdjustBrush(1e-3)
	if e.Brush != 0.5 {
		t.Errorf("brush %v, want clamped to 0.5", e.Brush)
	}
	e.AdjustBrush(1e6)
	if e.Brush != 32 {
		t.Errorf("brush %v, want clamped to 32", e.Brush)
	}
	e.Fit(128, 128)
	if e.Zoom != 2 || e.PanX != 0 || e.PanY != 32 {
		t.Errorf("fit: %+v", e.View)
	}
}

// TestEditorRender: a 4×4 mask with its 2×2 centre set, on a grey base, at zoom 1:
// every defect pixel is on the contour (MaskEdge); with a 6×6 defect the inner ones
// are tinted.
func TestEditorRender(t *testing.T) {
	base := imaging.NewRGB(8, 8)
	for i := range base.Pix {
		base.Pix[i] = 100
	}
	m := imaging.NewMask(8, 8)
	for y := 1; y < 7; y++ {
		for x := 1; x < 7; x++ {
			m.Pix[y*8+x] = true
		}
	}
	e := NewEditor(0, base, m)
	img := e.Render(10, 8, 0, 0, false)
	px := func(x, y int) [3]uint8 { return [3]uint8(img.Pix[4*(y*10+x) : 4*(y*10+x)+3]) }
	if px(0, 0) != [3]uint8{100, 100, 100} {
		t.Errorf("clear pixel %v", px(0, 0))
	}
	if px(1, 3) != MaskEdge {
		t.Errorf("edge pixel %v", px(1, 3))
	}
	// 0.6·100 + 0.4·(255, 48, 48) = (162, 79.2, 79.2)
	if px(3, 3) != [3]uint8{162, 79, 79} {
		t.Errorf("inner defect pixel %v, want tinted (162,79,79)", px(3, 3))
	}
	if px(9, 0) != Background {
		t.Errorf("outside %v", px(9, 0))
	}
	// The brush outline: radius 2 around (4, 4) at zoom 1 passes through (6, 4).
	e.Brush = 2
	img = e.Render(10, 8, 4.5, 4.5, true)
	if px(6, 4) != BrushColor {
		t.Errorf("brush outline missing: %v", px(6, 4))
	}
	// Painting and undoing show at once (the picture is not stale).
	e.Brush = 0.5
	e.Begin(0.5, 0.5, false)
	e.End()
	if img = e.Render(10, 8, 0, 0, false); px(0, 0) != MaskEdge {
		t.Errorf("painted pixel shows %v", px(0, 0))
	}
	e.Undo()
	if img = e.Render(10, 8, 0, 0, false); px(0, 0) != [3]uint8{100, 100, 100} {
		t.Errorf("undone pixel shows %v", px(0, 0))
	}
}

// TestPatchMaskDerivation (the mask step the session uses, ideal.PatchMask): pixel (13, 13) of a 28×28 mask falls only in the window of
// patch (1, 1) (rows 13–26); resized to 56×56 it becomes pixels 26–27, in the windows
// of patches 1 (13–26) and 2 (27–40) on each axis.
func TestPatchMaskDerivation(t *testing.T) {
	m := imaging.NewMask(28, 28)
	m.Pix[13*28+13] = true
	patchMask := func(side int) []bool {
		grid, _, err := ideal.PatchMask(m, &ideal.Features{Side: side, Patch: 14})
		if err != nil {
			t.Fatal(err)
		}
		return grid
	}
	if got := patchMask(28); !slices.Equal(got, []bool{false, false, false, true}) {
		t.Errorf("28: %v", got)
	}
	got := patchMask(56)
	var on []int
	for i, v := range got {
		if v {
			on = append(on, i)
		}
	}
	if !slices.Equal(on, []int{1*4 + 1, 1*4 + 2, 2*4 + 1, 2*4 + 2}) {
		t.Errorf("56: patches %v", on)
	}
}

func TestEditedPath(t *testing.T) {
	dir := t.TempDir()
	orig := filepath.Join(dir, "ref_mask.png")
	p, err := EditedPath(orig)
	if err != nil || p != filepath.Join(dir, "ref_mask_edited.png") {
		t.Fatalf("%s, %v", p, err)
	}
	m := imaging.NewMask(3, 2)
	m.Pix[4] = true
	if err := SaveMask(p, m); err != nil {
		t.Fatal(err)
	}
	back, err := imaging.ReadMask(p)
	if err != nil || !slices.Equal(back.Pix, m.Pix) {
		t.Fatalf("read back %v, %v", back, err)
	}
	if p2, err := EditedPath(orig); err != nil || p2 != filepath.Join(dir, "ref_mask_edited_2.png") {
		t.Errorf("with the first taken: %s, %v", p2, err)
	}
	if err := SaveMask(filepath.Join(dir, "no", "such", "x.png"), m); err == nil {
		t.Error("saving into a missing folder succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "no")); err == nil {
		t.Error("a failed save left a folder")
	}
}
