package viewer

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"

	"github.com/ideal-fsad/ideal/imaging"
)

// xInput drives the X server's pointer and keyboard (XTEST), as a user would.
type xInput struct {
	t    *testing.T
	c    *xgb.Conn
	root xproto.Window
	keys map[xproto.Keysym]xproto.Keycode
	x, y int // the window's position on the root
}

func newXInput(t *testing.T) *xInput {
	t.Helper()
	c, err := xgb.NewConn()
	if err != nil {
		t.Fatalf("X connection: %v", err)
	}
	t.Cleanup(c.Close)
	if err := xtest.Init(c); err != nil {
		t.Skipf("no XTEST extension: %v", err)
	}
	setup := xproto.Setup(c)
	in := &xInput{t: t, c: c, root: setup.DefaultScreen(c).Root, keys: map[xproto.Keysym]xproto.Keycode{}}
	n := byte(setup.MaxKeycode - setup.MinKeycode + 1)
	km, err := xproto.GetKeyboardMapping(c, setup.MinKeycode, n).Reply()
	if err != nil {
		t.Fatal(err)
	}
	per := int(km.KeysymsPerKeycode)
	for i := range int(n) {
		for j := range per {
			if s := km.Keysyms[i*per+j]; s != 0 {
				if _, ok := in.keys[s]; !ok {
					in.keys[s] = xproto.Keycode(int(setup.MinKeycode) + i)
				}
			}
		}
	}
	return in
}

// findWindow waits for a mapped top-level window of size w×h whose position has
// settled (it may be moved once shown) and records that position.
func (in *xInput) findWindow(w, h int) {
	in.t.Helper()
	lastX, lastY, same := -1, -1, 0
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(100 * time.Millisecond) {
		x, y, ok := in.locate(w, h)
		if !ok {
			continue
		}
		if x == lastX && y == lastY {
			if same++; same == 5 {
				in.x, in.y = x, y
				return
			}
		} else {
			lastX, lastY, same = x, y, 0
		}
	}
	in.t.Fatalf("no %d×%d window settled", w, h)
}

func (in *xInput) locate(w, h int) (x, y int, ok bool) {
	tree, err := xproto.QueryTree(in.c, in.root).Reply()
	if err != nil {
		in.t.Fatal(err)
	}
	for _, win := range tree.Children {
		attr, err := xproto.GetWindowAttributes(in.c, win).Reply()
		if err != nil || attr.MapState != xproto.MapStateViewable {
			continue
		}
		g, err := xproto.GetGeometry(in.c, xproto.Drawable(win)).Reply()
		if err != nil || int(g.Width) != w || int(g.Height) != h {
			continue
		}
		pos, err := xproto.TranslateCoordinates(in.c, win, in.root, 0, 0).Reply()
		if err != nil {
			in.t.Fatal(err)
		}
		return int(pos.DstX), int(pos.DstY), true
	}
	return 0, 0, false
}

// frame gives the viewer a few frames to see the last event.
func frame() { time.Sleep(120 * time.Millisecond) }

func (in *xInput) fake(typ, detail byte, x, y int) {
	in.t.Helper()
	if err := xtest.FakeInputChecked(in.c, typ, detail, 0, in.root, int16(in.x+x), int16(in.y+y), 0).Check(); err != nil {
		in.t.Fatal(err)
	}
	frame()
}

// moveTo puts the pointer at window point (x, y).
func (in *xInput) moveTo(x, y int) { in.fake(xproto.MotionNotify, 0, x, y) }

// drag presses a mouse button at the first point, moves through the others and
// releases it at the last.
func (in *xInput) drag(button byte, pts ...[2]int) {
	in.moveTo(pts[0][0], pts[0][1])
	in.fake(xproto.ButtonPress, button, 0, 0)
	for _, p := range pts[1:] {
		in.moveTo(p[0], p[1])
	}
	in.fake(xproto.ButtonRelease, button, 0, 0)
}

// key presses and releases the key of a keysym (the pointer stays over the window,
// which has the focus under X's default pointer-root focus).
func (in *xInput) key(sym xproto.Keysym) {
	in.t.Helper()
	code, ok := in.keys[sym]
	if !ok {
		in.t.Fatalf("no keycode for keysym %#x", sym)
	}
	in.fake(xproto.KeyPress, byte(code), 0, 0)
	in.fake(xproto.KeyRelease, byte(code), 0, 0)
}

// waitFor waits until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); time.Since(start) < 60*time.Second; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestEditMaskUnderX drives the real viewer with the X server's pointer and keyboard:
// it scores the synthetic case, clicks the abnormal reference's thumbnail, paints a
// square over the query's defect region with the left button, waits for the re-score,
// saves the mask (w), leaves the editor (Esc) and exports the verdicts (e). The scores
// exported must be those of scoring the same inputs with the saved mask through the
// backbone and head directly.
func TestEditMaskUnderX(t *testing.T) {
	needX(t)
	tmp := t.TempDir()
	bin := buildViewer(t)
	c := writeScoringCase(t, tmp)
	in := c.in
	var err error
	if in.Backbone, err = filepath.Abs(in.Backbone); err != nil { // the viewer runs in tmp
		t.Fatal(err)
	}
	const w, h = 480, 320
	cmd := exec.Command(bin, "--width", fmt.Sprint(w), "--height", fmt.Sprint(h), "--size", "112",
		"--backbone", in.Backbone, "--head", in.Head, "--normal", in.Normal[0], "--normal", in.Normal[1],
		"--abnormal", in.Abnormal[0].Path, "--abnormal-mask", in.Abnormal[0].Mask, in.Queries[0], in.Queries[1])
	cmd.Dir = tmp // the verdicts go to the working directory
	var out strings.Builder
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	passes := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "scoring pass") {
				passes <- sc.Text()
			}
		}
		close(passes)
	}()
	wait := func(pass int) {
		t.Helper()
		select {
		case line, ok := <-passes:
			if !ok || !strings.Contains(line, fmt.Sprintf("pass %d done: 2 queries", pass)) {
				t.Fatalf("pass %d: %q; stderr:\n%s", pass, line, out.String())
			}
		case <-time.After(60 * time.Second):
			t.Fatalf("pass %d did not end", pass)
		}
	}
	wait(1)
	x := newXInput(t)
	x.findWindow(w, h)
	// The abnormal reference is the third thumbnail.
	thumb := LayoutPanel(3, w, h).Thumbs[2]
	x.drag(1, [2]int{(thumb.Min.X + thumb.Max.X) / 2, (thumb.Min.Y + thumb.Max.Y) / 2})
	// The editor fits the 128×128 reference into the 384×320 view: zoom 2.5, pan (32, 0).
	scr := func(ix, iy int) [2]int { return [2]int{32 + ix*5/2, iy * 5 / 2} }
	x.drag(1, scr(78, 30), scr(98, 30), scr(98, 40), scr(78, 40), scr(78, 50), scr(98, 50))
	wait(2)
	x.key('w')
	saved := filepath.Join(tmp, "abnormal_mask_edited.png")
	waitFor(t, saved, func() bool { _, err := os.Stat(saved); return err == nil })
	x.key(0xff1b) // Escape
	x.key('e')
	verdicts := filepath.Join(tmp, "verdicts.csv")
	waitFor(t, verdicts, func() bool { _, err := os.Stat(verdicts); return err == nil })

	m, err := imaging.ReadMask(saved)
	if err != nil {
		t.Fatal(err)
	}
	at := func(x, y int) bool { return m.Pix[y*m.W+x] }
	if !at(88, 30) || !at(88, 40) || !at(78, 45) || !at(98, 50) || !at(30, 88) || at(60, 60) || at(88, 60) {
		t.Errorf("saved mask: painted square or original defect missing, or paint elsewhere (%d pixels)", m.Count())
	}
	f, err := os.Open(verdicts)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil && err != io.EOF {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range rows[1:] {
		v, err := strconv.ParseFloat(r[1], 32)
		if err != nil {
			t.Fatal(err)
		}
		got[r[0]] = v
	}
	want := direct(t, in, saved)
	before := direct(t, in, in.Abnormal[0].Mask)
	for i, p := range in.Queries {
		if d := got[p] - float64(want[i].ImageScore); d < -1e-5 || d > 1e-5 {
			t.Errorf("%s: exported score %v, direct with the saved mask %v (with the original %v)", p, got[p], want[i].ImageScore, before[i].ImageScore)
		}
	}
	if want[1].ImageScore == before[1].ImageScore {
		t.Error("the painted mask does not change the defective query's score: the test cannot tell")
	}
}
