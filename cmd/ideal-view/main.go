// Command ideal-view is the desktop inspector of IDEAL's results: each query with its
// heat map, threshold contour and ground-truth contour, worst first, the references
// beside it, and the abnormal references' masks editable with the mouse, every edit
// re-scoring all queries in the background.
//
//	ideal-view [options] DIR
//	ideal-view [options] --backbone W [--head H] --normal X ... [--abnormal X --abnormal-mask PNG ...] [--size S] QUERY...
//
// DIR is a results folder written by `ideal score --out` or `ideal eval --out` (its
// view.json; masks are editable when the backbone and head it names exist), or holds
// the JSON of `ideal score --json` (NAME_mask.png beside it is query NAME's ground
// truth). The second form scores in the window, with `ideal score`'s flags: inputs
// are images or `ideal features` files, and a query image's ground truth is
// NAME_mask.png beside it when present (as `ideal score --out` records it). With
// --screenshot FILE the window renders --frames frames once all scoring is done, saves
// the screen and exits.
//
// Keys: ←/→ (↑/↓) previous / next query, Home/End first / last, Tab / Shift+Tab next /
// previous class, c colour map, m map (A, s_n, s_a), +/- threshold, [ ] opacity, f fit,
// r reference panel, s export the view as PNG, e export the verdicts as CSV, wheel zoom,
// left drag pan; hovering shows the patch's scores. Clicking an abnormal reference (or
// p) edits its mask: left paint, right erase, , and . brush size, wheel zoom, middle
// drag pan, z undo, w save as NAME_edited.png, Esc (or p) back. It must not import
// gpu/: Ebiten and go-gl/glfw cannot be linked into one binary.
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

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/internal/cli"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/results"
	"github.com/ideal-fsad/ideal/viewer"
)

func main() {
	if err := imaging.MaxPixelsFromEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "ideal-view:", err)
		os.Exit(2)
	}
	if err := run(os.Args[1:]); errors.Is(err, flag.ErrHelp) {
		return
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "ideal-view:", err)
		os.Exit(1)
	}
}

const usage = `usage: ideal-view [options] DIR
       ideal-view [options] --backbone W [--head H] --normal X ... [--abnormal X --abnormal-mask PNG ...] [--size S] QUERY...`

func run(args []string) error {
	fs := flag.NewFlagSet("ideal-view", flag.ContinueOnError)
	width := fs.Int("width", 1024, "window width")
	height := fs.Int("height", 768, "window height")
	shot := fs.String("screenshot", "", "once scoring is done, render --frames frames, save the screen to this PNG and exit")
	frames := fs.Int("frames", 3, "frames to render after scoring is done before --screenshot")
	var normals, abnormals, masks cli.List
	backbone := fs.String("backbone", "", "DINOv2 weights (needed when an input is an image)")
	headPath := fs.String("head", "", "IDE head weights (needed with --abnormal)")
	fs.Var(&normals, "normal", "a normal reference (image or features file); repeatable")
	fs.Var(&abnormals, "abnormal", "an abnormal reference (image or features file); repeatable")
	fs.Var(&masks, "abnormal-mask", "the defect mask of the matching --abnormal; repeatable")
	size := fs.Int("size", 448, "input side S in pixels for images (a multiple of the patch size)")
	backendName := fs.String("backend", "cpu", "compute backend for re-scoring: cpu (all cores but one) or reference; this program cannot link gpu, so gpu and auto fall back to cpu")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	pos, err := cli.Interspersed(fs, args)
	if err != nil {
		return err
	}
	scoring := len(normals)+len(abnormals) > 0
	switch {
	case *width < 64 || *height < 64:
		return fmt.Errorf("--width and --height must be at least 64 (got %d×%d)", *width, *height)
	case *shot != "" && *frames < 1:
		return fmt.Errorf("--frames must be at least 1 (got %d)", *frames)
	case !scoring && len(pos) != 1:
		fs.Usage()
		return errors.New("want one results folder, or --normal/--abnormal references and queries to score")
	case scoring && len(pos) == 0:
		return errors.New("no query given")
	case len(masks) != len(abnormals):
		return fmt.Errorf("%d --abnormal but %d --abnormal-mask: each abnormal reference needs its mask, in the same order", len(abnormals), len(masks))
	case !scoring && (*backbone != "" || *headPath != ""):
		return errors.New("--backbone and --head go with --normal/--abnormal (a results folder names its own)")
	}
	be, err := openBackend(*backendName)
	if err != nil {
		return err
	}
	if be != nil {
		defer be.Close()
	}
	in := viewer.Inputs{Backbone: *backbone, Head: *headPath, Size: *size, Normal: normals, Backend: be}
	eps, title, outDir, err := episodes(in, abnormals, masks, pos)
	if err != nil {
		return err
	}
	for _, e := range eps {
		if e.Session != nil {
			e.Session.Start()
		}
	}
	g := &game{in: viewer.NewInspector(eps), dir: outDir, shot: *shot, frames: *frames}
	ebiten.SetWindowSize(*width, *height)
	ebiten.SetWindowTitle("ideal-view " + title)
	ebiten.SetWindowResizingMode(ebiten.WindowResizingModeEnabled)
	if err := ebiten.RunGame(g); err != nil {
		return err
	}
	return g.err
}

// episodes opens what the command line names: the queries pos to score against the
// references (when in has normal ones or abnormals are given), else the results folder
// pos[0]. outDir is where exports go.
func episodes(in viewer.Inputs, abnormals, masks []string, pos []string) (eps []*viewer.Episode, title, outDir string, err error) {
	if len(in.Normal)+len(abnormals) > 0 {
		in.Queries = pos
		for _, q := range pos {
			in.QueryMasks = append(in.QueryMasks, results.GroundTruthBeside(q))
		}
		for i, a := range abnormals {
			in.Abnormal = append(in.Abnormal, viewer.Ref{Path: a, Mask: masks[i]})
		}
		s, err := viewer.Open(in)
		if err != nil {
			return nil, "", "", err
		}
		return []*viewer.Episode{{Session: s}}, fmt.Sprintf("scoring %d queries", len(pos)), ".", nil
	}
	if eps, err = viewer.OpenDirOn(pos[0], in.Backend); err != nil {
		return nil, "", "", err
	}
	outDir = pos[0]
	if st, err := os.Stat(outDir); err == nil && !st.IsDir() {
		outDir = filepath.Dir(outDir)
	}
	return eps, pos[0], outDir, nil
}

// openBackend opens the backend called name with ideal.OpenBackend, saying on stderr
// when it fell back; nil for "cpu": the viewer's own CPU backend, which leaves a core to
// the window.
func openBackend(name string) (kernels.Backend, error) {
	if name == "cpu" {
		return nil, nil
	}
	be, note, err := ideal.OpenBackend(name)
	if err != nil {
		return nil, fmt.Errorf("--backend: %w", err)
	}
	if note != "" {
		fmt.Fprintln(os.Stderr, "ideal-view:", note)
	}
	return be, nil
}

// game forwards input to the inspector and draws its rendering.
type game struct {
	in     *viewer.Inspector
	dir    string // where exports go
	shot   string
	frames int

	w, h     int // screen size
	dirty    bool
	buf      *ebiten.Image
	drawn    int // frames drawn since scoring was done (--screenshot)
	done     bool
	err      error
	dragging bool // panning
	lastX    int
	lastY    int
	seen     string // what the last rendering showed (viewKey)
	reported []int  // per episode, the last scoring pass reported on stderr
}

// reportPasses says on stderr when a scoring pass of an episode ends.
func (g *game) reportPasses() {
	if g.reported == nil {
		g.reported = make([]int, len(g.in.Episodes))
	}
	for i, e := range g.in.Episodes {
		if e.Session == nil {
			continue
		}
		p := e.Session.Progress()
		if p.Busy || p.Pass <= g.reported[i] {
			continue
		}
		g.reported[i] = p.Pass
		class := ""
		if e.Class != "" {
			class = " (" + e.Class + ")"
		}
		if p.Err != nil {
			fmt.Fprintf(os.Stderr, "ideal-view: scoring pass %d%s failed: %v\n", p.Pass, class, p.Err)
		} else {
			fmt.Fprintf(os.Stderr, "ideal-view: scoring pass %d%s done: %d queries\n", p.Pass, class, p.Done)
		}
	}
}

func (g *game) Layout(ow, oh int) (int, int) {
	if ow != g.w || oh != g.h {
		g.w, g.h, g.dirty = ow, oh, true
		g.in.Resize(ow, oh)
	}
	return ow, oh
}

// pressed reports a key just pressed, or held long enough to repeat.
func pressed(keys ...ebiten.Key) bool {
	for _, k := range keys {
		if inpututil.IsKeyJustPressed(k) || inpututil.KeyPressDuration(k) > 20 {
			return true
		}
	}
	return false
}

func (g *game) Update() error {
	if g.done {
		return ebiten.Termination
	}
	if g.w == 0 {
		return nil
	}
	in := g.in
	if in.Poll() {
		g.dirty = true
	}
	g.reportPasses()
	x, y := ebiten.CursorPosition()
	if in.Editor != nil {
		g.updateEditor(x, y)
	} else {
		g.updateView(x, y)
	}
	switch {
	case inpututil.IsKeyJustPressed(ebiten.KeyTab):
		d := 1
		if ebiten.IsKeyPressed(ebiten.KeyShift) {
			d = -1
		}
		in.NextClass(d)
	case inpututil.IsKeyJustPressed(ebiten.KeyR):
		in.TogglePanel()
	}
	if k := g.viewKey(x, y); k != g.seen {
		g.seen, g.dirty = k, true
	}
	return nil
}

// updateView handles input while the queries are shown.
func (g *game) updateView(x, y int) {
	in := g.in
	vw, vh := in.ViewSize()
	if inpututil.IsKeyJustPressed(ebiten.KeyP) {
		if err := in.StartEdit(-1); err != nil {
			in.Msg = err.Error()
		}
		return
	}
	s := in.State()
	if s == nil {
		return
	}
	switch {
	case pressed(ebiten.KeyArrowRight, ebiten.KeyArrowDown):
		s.Next()
		s.Fit(vw, vh)
	case pressed(ebiten.KeyArrowLeft, ebiten.KeyArrowUp):
		s.Prev()
		s.Fit(vw, vh)
	case pressed(ebiten.KeyHome):
		s.First()
		s.Fit(vw, vh)
	case pressed(ebiten.KeyEnd):
		s.Last()
		s.Fit(vw, vh)
	case pressed(ebiten.KeyF):
		s.Fit(vw, vh)
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
		p := filepath.Join(g.dir, "view_"+strings.ReplaceAll(s.Current().Name, "/", "_")+".png")
		in.Msg = report(s.ExportPNG(p), "saved "+p)
	case inpututil.IsKeyJustPressed(ebiten.KeyE):
		p := filepath.Join(g.dir, "verdicts.csv")
		in.Msg = report(s.ExportCSV(p), "saved "+p)
	}
	if _, wy := ebiten.Wheel(); wy != 0 && x < vw {
		s.ZoomAt(float64(x), float64(y), zoomStep(wy))
	}
	if inpututil.IsMouseButtonJustPressed(ebiten.MouseButtonLeft) && in.Click(x, y) {
		return
	}
	if ebiten.IsMouseButtonPressed(ebiten.MouseButtonLeft) && x < vw {
		if g.dragging {
			s.PanBy(float64(x-g.lastX), float64(y-g.lastY))
		}
		g.dragging, g.lastX, g.lastY = true, x, y
	} else {
		g.dragging = false
	}
}

// updateEditor handles input while an abnormal reference's mask is edited.
func (g *game) updateEditor(x, y int) {
	in := g.in
	e := in.Editor
	vw, vh := in.ViewSize()
	switch {
	case inpututil.IsKeyJustPressed(ebiten.KeyEscape), inpututil.IsKeyJustPressed(ebiten.KeyP):
		in.StrokeEnd()
		in.LeaveEdit()
		return
	case inpututil.IsKeyJustPressed(ebiten.KeyZ):
		in.Undo()
	case inpututil.IsKeyJustPressed(ebiten.KeyW):
		in.SaveMask()
	case pressed(ebiten.KeyComma):
		e.AdjustBrush(1 / 1.25)
	case pressed(ebiten.KeyPeriod):
		e.AdjustBrush(1.25)
	case pressed(ebiten.KeyF):
		e.Fit(vw, vh)
	}
	if _, wy := ebiten.Wheel(); wy != 0 && x < vw {
		e.ZoomAt(float64(x), float64(y), zoomStep(wy))
	}
	fx, fy := float64(x), float64(y)
	left := inpututil.IsMouseButtonJustPressed(ebiten.MouseButtonLeft)
	right := inpututil.IsMouseButtonJustPressed(ebiten.MouseButtonRight)
	switch {
	case left && in.Click(x, y):
		return // another thumbnail
	case (left || right) && !e.Stroking() && x < vw:
		e.Begin(fx, fy, right)
	case e.Stroking() && (ebiten.IsMouseButtonPressed(ebiten.MouseButtonLeft) || ebiten.IsMouseButtonPressed(ebiten.MouseButtonRight)):
		e.MoveTo(fx, fy)
	case e.Stroking():
		e.MoveTo(fx, fy)
		in.StrokeEnd()
	}
	if ebiten.IsMouseButtonPressed(ebiten.MouseButtonMiddle) {
		if g.dragging {
			e.PanBy(float64(x-g.lastX), float64(y-g.lastY))
		}
		g.dragging, g.lastX, g.lastY = true, x, y
	} else {
		g.dragging = false
	}
}

func zoomStep(wy float64) float64 {
	if wy < 0 {
		return 1 / 1.25
	}
	return 1.25
}

// viewKey sums up what the rendering depends on, to redraw only when it changes.
func (g *game) viewKey(x, y int) string {
	in := g.in
	p := in.Progress()
	k := fmt.Sprint(in.Cur, in.ShowPanel, p.Busy, p.Done, p.Pass, p.Stage)
	if s := in.State(); s != nil {
		k += fmt.Sprint(s.Index, s.Colormap.Name(), s.Opacity, s.Map, s.Threshold, s.View)
	}
	if e := in.Editor; e != nil {
		k += fmt.Sprint(in.EditRef, e.View, e.Brush, x, y, e.Mask.Count(), e.CanUndo())
	}
	return k
}

func report(err error, ok string) string {
	if err != nil {
		return err.Error()
	}
	return ok
}

func (g *game) Draw(screen *ebiten.Image) {
	if g.w == 0 || g.done {
		return
	}
	in := g.in
	if g.buf == nil || g.buf.Bounds().Dx() != g.w || g.buf.Bounds().Dy() != g.h {
		g.buf = ebiten.NewImage(g.w, g.h)
		g.dirty = true
	}
	if g.dirty {
		x, y := ebiten.CursorPosition()
		g.buf.WritePixels(in.Render(float64(x), float64(y)).Pix)
		g.dirty = false
	}
	screen.DrawImage(g.buf, nil)
	if in.Editor == nil {
		ebitenutil.DebugPrintAt(screen, g.strip(), 0, ProgressTextTop)
	}
	lines := g.status()
	vw, _ := in.ViewSize()
	for i, l := range lines { // the debug font is 6 pixels wide: keep the text off the panel
		if r := []rune(l); len(r) > (vw-8)/6 {
			lines[i] = string(r[:max((vw-8)/6, 0)])
		}
	}
	ebitenutil.DebugPrintAt(screen, strings.Join(lines, "\n"), 4, g.h-16*len(lines))
	if in.ShowPanel {
		p := in.Panel()
		for i, r := range in.References() {
			label := fmt.Sprintf("normal %d", r.Index+1)
			if r.Abnormal {
				label = fmt.Sprintf("abnormal %d", r.Index+1)
				if r.Edited {
					label += " *"
				}
			}
			ebitenutil.DebugPrintAt(screen, label, p.Thumbs[i].Min.X, p.Thumbs[i].Max.Y-2)
		}
	}
	g.screenshot(screen)
}

// ProgressTextTop keeps the strip below the progress bar.
const ProgressTextTop = viewer.ProgressHeight + 2

// screenshot saves the screen once scoring is done and --frames frames were drawn
// after that; a scoring error ends the run with that error instead.
func (g *game) screenshot(screen *ebiten.Image) {
	if g.shot == "" {
		return
	}
	for _, e := range g.in.Episodes {
		if e.Session != nil {
			if p := e.Session.Progress(); p.Err != nil {
				g.err, g.done = fmt.Errorf("scoring: %w", p.Err), true
				return
			}
		}
	}
	if g.in.Busy() || g.in.State() == nil {
		return
	}
	g.drawn++
	if g.drawn < g.frames {
		return
	}
	b := screen.Bounds()
	img := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	screen.ReadPixels(img.Pix)
	g.err = imaging.WritePNG(g.shot, img)
	g.done = true
}

// strip lists the queries around the current one, worst first, with their verdicts.
func (g *game) strip() string {
	s := g.in.State()
	if s == nil {
		return ""
	}
	var sb strings.Builder
	for _, e := range s.Strip(max((g.h-16*8)/16, 1)) {
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

// status is the text under the view: the class, the scoring progress, the query and
// its verdict, the settings, the hovered patch (or the editor's state) and the last
// message.
func (g *game) status() []string {
	in := g.in
	var lines []string
	if n := len(in.Episodes); n > 1 {
		lines = append(lines, fmt.Sprintf("class %d/%d %s   (Tab: next class)", in.Cur+1, n, in.Episode().Class))
	}
	p := in.Progress()
	switch {
	case p.Err != nil:
		lines = append(lines, "ERROR: "+p.Err.Error())
	case p.Busy:
		verb := "scoring"
		if p.Pass > 1 {
			verb = "re-scoring"
		}
		lines = append(lines, fmt.Sprintf("%s %d/%d: %s", verb, p.Done, p.Total, p.Stage))
	}
	for _, w := range p.Warnings {
		lines = append(lines, "warning: "+w)
	}
	if e := in.Editor; e != nil {
		lines = append(lines, fmt.Sprintf("editing abnormal reference %d: %d defect pixels, brush %.1f px", e.Ref+1, e.Mask.Count(), e.Brush),
			"left paint, right erase, , . brush, wheel zoom, middle drag pan, z undo, w save, Esc done")
		if w := e.Warning(); w != "" {
			lines = append(lines, "warning: "+w)
		}
	} else if s := in.State(); s != nil {
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
		lines = append(lines,
			fmt.Sprintf("%d/%d %s  score %.4f  %s   (%d of %d fail)", s.Index+1, len(s.Queries), q.Name, q.ImageScore, verdict, nfail, len(s.Queries)),
			fmt.Sprintf("map %s  threshold %.4f (verdict %.4f)  colours %s  opacity %.1f  zoom %.2f", s.Map, s.Threshold, s.VerdictThreshold(), s.Colormap.Name(), s.Opacity, s.Zoom))
		x, y := ebiten.CursorPosition()
		if vw, _ := in.ViewSize(); x < vw {
			if pt, ok := s.PatchAt(float64(x), float64(y)); ok {
				lines = append(lines, fmt.Sprintf("patch (%d,%d)  A %.4f  s_n %.4f  s_a %.4f", pt.Row, pt.Col, pt.A, pt.SN, pt.SA))
			}
		}
	}
	if in.Msg != "" {
		lines = append(lines, in.Msg)
	}
	return lines
}
