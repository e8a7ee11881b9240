// Command ideal-view opens the results of `ideal score --json` in a window: each query
// with its heat map, threshold contour and ground-truth contour, worst first.
//
//	ideal-view [--width W] [--height H] [--screenshot FILE --frames N] DIR
//
// DIR holds the JSON written by `ideal score --json DIR/x.json` (or is that file);
// NAME_mask.png beside it is the ground truth of query NAME. Keys: ←/→ (or ↑/↓) previous
// and next query, Home/End first and last, c colour map, m map (A, s_n, s_a), +/-
// threshold, [ ] opacity, f fit, s export the view as PNG, e export the verdicts as CSV,
// mouse wheel zoom, left drag pan; hovering shows the patch's scores. It must not
// import gpu/: Ebiten and go-gl/glfw cannot be linked into one binary.
package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/ebitenutil"
	"github.com/hajimehoshi/ebiten/v2/inpututil"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/viewer"
)

func main() {
	if err := run(os.Args[1:]); errors.Is(err, flag.ErrHelp) {
		return
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "ideal-view:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("ideal-view", flag.ContinueOnError)
	width := fs.Int("width", 1024, "window width")
	height := fs.Int("height", 768, "window height")
	shot := fs.String("screenshot", "", "render --frames frames, save the screen to this PNG and exit")
	frames := fs.Int("frames", 3, "frames to render before --screenshot")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: ideal-view [--width W] [--height H] [--screenshot FILE --frames N] DIR")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 1:
		fs.Usage()
		return errors.New("want one results folder")
	case *width < 64 || *height < 64:
		return fmt.Errorf("--width and --height must be at least 64 (got %d×%d)", *width, *height)
	case *shot != "" && *frames < 1:
		return fmt.Errorf("--frames must be at least 1 (got %d)", *frames)
	}
	dir := fs.Arg(0)
	qs, err := viewer.Load(dir)
	if err != nil {
		return err
	}
	s, err := viewer.New(qs)
	if err != nil {
		return err
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		dir = filepath.Dir(dir)
	}
	g := &game{s: s, dir: dir, shot: *shot, frames: *frames}
	ebiten.SetWindowSize(*width, *height)
	ebiten.SetWindowTitle("ideal-view " + dir)
	ebiten.SetWindowResizingMode(ebiten.WindowResizingModeEnabled)
	if err := ebiten.RunGame(g); err != nil {
		return err
	}
	return g.err
}

// game forwards input to the viewer state and draws its rendering.
type game struct {
	s      *viewer.State
	dir    string
	shot   string
	frames int

	w, h     int // screen size
	fitted   bool
	dirty    bool
	buf      *ebiten.Image
	drawn    int
	done     bool
	err      error
	msg      string
	dragging bool
	lastX    int
	lastY    int
}

func (g *game) Layout(ow, oh int) (int, int) {
	if ow != g.w || oh != g.h {
		g.w, g.h, g.dirty = ow, oh, true
	}
	return ow, oh
}

func (g *game) Update() error {
	if g.done {
		return ebiten.Termination
	}
	if g.w == 0 {
		return nil
	}
	s := g.s
	if !g.fitted {
		s.Fit(g.w, g.h)
		g.fitted, g.dirty = true, true
	}
	before := viewKey(s)
	pressed := func(keys ...ebiten.Key) bool {
		for _, k := range keys {
			if inpututil.IsKeyJustPressed(k) || inpututil.KeyPressDuration(k) > 20 {
				return true
			}
		}
		return false
	}
	switch {
	case pressed(ebiten.KeyArrowRight, ebiten.KeyArrowDown):
		s.Next()
		s.Fit(g.w, g.h)
	case pressed(ebiten.KeyArrowLeft, ebiten.KeyArrowUp):
		s.Prev()
		s.Fit(g.w, g.h)
	case pressed(ebiten.KeyHome):
		s.First()
		s.Fit(g.w, g.h)
	case pressed(ebiten.KeyEnd):
		s.Last()
		s.Fit(g.w, g.h)
	case pressed(ebiten.KeyF):
		s.Fit(g.w, g.h)
	case pressed(ebiten.KeyC):
		s.CycleColormap()
	case pressed(ebiten.KeyM):
		s.CycleMap()
	case pressed(ebiten.KeyEqual, ebiten.KeyNumpadAdd):
		s.AdjustThreshold(1)
	case pressed(ebiten.KeyMinus, ebiten.KeyNumpadSubtract):
		s.AdjustThreshold(-1)
	case pressed(ebiten.KeyBracketRight):
		s.AdjustOpacity(0.1)
	case pressed(ebiten.KeyBracketLeft):
		s.AdjustOpacity(-0.1)
	case inpututil.IsKeyJustPressed(ebiten.KeyS):
		p := filepath.Join(g.dir, "view_"+s.Current().Name+".png")
		g.msg = report(s.ExportPNG(p), "saved "+p)
	case inpututil.IsKeyJustPressed(ebiten.KeyE):
		p := filepath.Join(g.dir, "verdicts.csv")
		g.msg = report(s.ExportCSV(p), "saved "+p)
	}
	x, y := ebiten.CursorPosition()
	if _, wy := ebiten.Wheel(); wy != 0 {
		f := 1.25
		if wy < 0 {
			f = 1 / f
		}
		s.ZoomAt(float64(x), float64(y), f)
	}
	if ebiten.IsMouseButtonPressed(ebiten.MouseButtonLeft) {
		if g.dragging {
			s.PanBy(float64(x-g.lastX), float64(y-g.lastY))
		}
		g.dragging, g.lastX, g.lastY = true, x, y
	} else {
		g.dragging = false
	}
	if viewKey(s) != before {
		g.dirty = true
	}
	return nil
}

// viewKey sums up what the rendering depends on, to redraw only when it changes.
func viewKey(s *viewer.State) string {
	return fmt.Sprint(s.Index, s.Colormap.Name(), s.Opacity, s.Map, s.Threshold, s.Zoom, s.PanX, s.PanY)
}

func report(err error, ok string) string {
	if err != nil {
		return err.Error()
	}
	return ok
}

func (g *game) Draw(screen *ebiten.Image) {
	s := g.s
	if g.w == 0 || g.done {
		return
	}
	if g.buf == nil || g.buf.Bounds().Dx() != g.w || g.buf.Bounds().Dy() != g.h {
		g.buf = ebiten.NewImage(g.w, g.h)
		g.dirty = true
	}
	if g.dirty {
		g.buf.WritePixels(s.Render(g.w, g.h).Pix)
		g.dirty = false
	}
	screen.DrawImage(g.buf, nil)
	ebitenutil.DebugPrintAt(screen, g.status(), 4, g.h-16*4)
	ebitenutil.DebugPrint(screen, g.strip())
	g.drawn++
	if g.shot != "" && g.drawn >= g.frames {
		b := screen.Bounds()
		img := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		screen.ReadPixels(img.Pix)
		g.err = imaging.WritePNG(g.shot, img)
		g.done = true
	}
}

// strip lists the queries around the current one, worst first, with their verdicts.
func (g *game) strip() string {
	var sb strings.Builder
	for _, e := range g.s.Strip(max((g.h-16*5)/16, 1)) {
		mark, verdict := " ", "pass"
		if e.Current {
			mark = ">"
		}
		if e.Fails {
			verdict = "FAIL"
		}
		fmt.Fprintf(&sb, "%s%3d %.3f %s %s\n", mark, e.Index+1, e.Query.ImageScore, verdict, e.Query.Name)
	}
	return sb.String()
}

// status is the text under the view: the query and its verdict, the settings, the hovered patch.
func (g *game) status() string {
	s := g.s
	q := s.Current()
	verdict := "PASS"
	if s.Fails(q) {
		verdict = "FAIL"
	}
	var nfail int
	for _, o := range s.Queries {
		if s.Fails(o) {
			nfail++
		}
	}
	lines := []string{
		fmt.Sprintf("%d/%d %s  score %.4f  %s   (%d of %d fail)", s.Index+1, len(s.Queries), q.Name, q.ImageScore, verdict, nfail, len(s.Queries)),
		fmt.Sprintf("map %s  threshold %.4f (verdict %.4f)  colours %s  opacity %.1f  zoom %.2f", s.Map, s.Threshold, s.VerdictThreshold(), s.Colormap.Name(), s.Opacity, s.Zoom),
	}
	x, y := ebiten.CursorPosition()
	if p, ok := s.PatchAt(float64(x), float64(y)); ok {
		lines = append(lines, fmt.Sprintf("patch (%d,%d)  A %.4f  s_n %.4f  s_a %.4f", p.Row, p.Col, p.A, p.SN, p.SA))
	} else {
		lines = append(lines, "")
	}
	lines = append(lines, g.msg)
	return strings.Join(lines, "\n")
}
