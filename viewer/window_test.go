package viewer

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ideal-fsad/ideal/imaging"
)

// writeWindowCase writes a results folder: two 64×64 grey queries with 4×4 maps, the first
// with A = 1 on patch (row 1, col 2) and 0 elsewhere, the second all 0.
func writeWindowCase(t *testing.T, dir string) {
	t.Helper()
	grey := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range grey.Pix {
		grey.Pix[i] = 128
	}
	type q struct {
		Path  string      `json:"path"`
		Score float32     `json:"image_score"`
		Map   [][]float32 `json:"map"`
		SN    [][]float32 `json:"normal_score"`
		SA    [][]float32 `json:"deviation_score"`
	}
	grid := func(hot bool) [][]float32 {
		g := make([][]float32, 4)
		for i := range g {
			g[i] = make([]float32, 4)
		}
		if hot {
			g[1][2] = 1
		}
		return g
	}
	var out struct {
		Queries []q `json:"queries"`
	}
	for i, name := range []string{"good.png", "bad.png"} {
		if err := imaging.WritePNG(filepath.Join(dir, name), grey); err != nil {
			t.Fatal(err)
		}
		hot := i == 1
		out.Queries = append(out.Queries, q{Path: name, Score: map[bool]float32{false: 0.1, true: 0.9}[hot], Map: grid(hot), SN: grid(false), SA: grid(hot)})
	}
	// Ground truth of "bad": the defect patch, image pixels x 32–47, y 16–31.
	mask := image.NewGray(image.Rect(0, 0, 64, 64))
	for y := 16; y < 32; y++ {
		for x := 32; x < 48; x++ {
			mask.Pix[y*64+x] = 255
		}
	}
	if err := imaging.WritePNG(filepath.Join(dir, "bad_mask.png"), mask); err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scores.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// needX skips without a display (or fails when IDEAL_REQUIRE_GPU=1 asks for one) and
// with -short.
func needX(t *testing.T) {
	t.Helper()
	if os.Getenv("DISPLAY") == "" {
		if os.Getenv("IDEAL_REQUIRE_GPU") == "1" {
			t.Fatal("IDEAL_REQUIRE_GPU=1 but DISPLAY is empty: run under scripts/with-xvfb.sh")
		}
		t.Skip("no DISPLAY: run under scripts/with-xvfb.sh")
	}
	if testing.Short() {
		t.Skip("builds the cgo viewer binary: skipped with -short")
	}
}

var viewerBin struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// buildViewer builds cmd/ideal-view once per test run (into a folder removed by
// TestMain) and returns its path.
func buildViewer(t *testing.T) string {
	t.Helper()
	viewerBin.once.Do(func() {
		dir, err := os.MkdirTemp("", "ideal-view-test")
		if err != nil {
			viewerBin.err = err
			return
		}
		binDir = dir
		viewerBin.path = filepath.Join(dir, "ideal-view")
		viewerBin.out, viewerBin.err = exec.Command("go", "build", "-o", viewerBin.path, "../cmd/ideal-view").CombinedOutput()
	})
	if viewerBin.err != nil {
		t.Fatalf("go build: %v\n%s", viewerBin.err, viewerBin.out)
	}
	return viewerBin.path
}

// binDir holds the built viewer; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// TestScreenshotUnderX builds and runs the real viewer, cmd/ideal-view (under Xvfb in
// `make test`), takes a screenshot and checks the heat map over the defect. It lives
// here, not beside the binary, because a package that links Ebiten panics at start-up
// without a display, so it could not skip.
func TestScreenshotUnderX(t *testing.T) {
	needX(t)
	tmp := t.TempDir()
	bin := buildViewer(t)
	dir := filepath.Join(tmp, "results")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeWindowCase(t, dir)
	for name, args := range map[string][]string{
		"no folder":      {},
		"two folders":    {dir, dir},
		"tiny window":    {"--width", "10", dir},
		"zero frames":    {"--screenshot", filepath.Join(tmp, "s.png"), "--frames", "0", dir},
		"missing folder": {filepath.Join(dir, "nope")},
	} {
		if out, err := exec.Command(bin, args...).CombinedOutput(); err == nil || !strings.Contains(string(out), "ideal-view: ") {
			t.Errorf("%s: exit %v, output %s", name, err, out)
		}
	}
	shot := filepath.Join(tmp, "shot.png")
	cmd := exec.Command(bin, "--width", "256", "--height", "256", "--screenshot", shot, "--frames", "5", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ideal-view: %v\n%s", err, out)
	}
	img := readPNG(t, shot)
	if img.Bounds().Dx() != 256 || img.Bounds().Dy() != 256 {
		t.Fatalf("screenshot %v, want 256×256", img.Bounds())
	}
	// What the window should show: the worst query ("bad") fitted into 256×256 (zoom 4),
	// inferno at opacity 0.5 over grey 128. The defect patch covers screen x 128–191, y 64–127.
	qs, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(qs)
	if err != nil {
		t.Fatal(err)
	}
	s.Fit(256, 256)
	want := s.Render(256, 256)
	for _, p := range [][2]int{{160, 96}, {150, 100}, {20, 48}, {240, 40}, {60, 150}} {
		got, exp := at(img, p[0], p[1]), at(want, p[0], p[1])
		for j := range 3 {
			if d := got[j] - exp[j]; d < -2 || d > 2 {
				t.Errorf("screen (%d,%d) %v, want %v", p[0], p[1], got, exp)
				break
			}
		}
	}
	// The map says hot over the defect and cold elsewhere: inferno(≈1) is bright yellow,
	// inferno(0) black, so the defect is far brighter than the background.
	// The ground-truth contour: image column 32 is screen columns 128–131.
	if got, want := at(img, 129, 100), GroundTruthColour; got != [3]int{int(want[0]), int(want[1]), int(want[2])} {
		t.Errorf("ground-truth contour at (129,100) %v, want %v", got, want)
	}
	hot, cold := at(img, 160, 96), at(img, 20, 48)
	if hot[0]-cold[0] < 80 || hot[1]-cold[1] < 80 {
		t.Errorf("defect %v is not brighter than the background %v as the map says", hot, cold)
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func at(m image.Image, x, y int) [3]int {
	r, g, b, _ := m.At(x, y).RGBA()
	return [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
}

// TestScoringWindowUnderX runs the real viewer in scoring mode on the synthetic case
// (tiny backbone, S = 112): the screenshot is taken --frames frames after scoring is
// done, and must show what the same inputs scored in this process render: the defect
// hotter than the background as the map says, and the reference panel with the
// abnormal reference's mask contour. Set IDEAL_VIEW_SCREENSHOT=FILE to keep it.
func TestScoringWindowUnderX(t *testing.T) {
	needX(t)
	tmp := t.TempDir()
	bin := buildViewer(t)
	c := writeScoringCase(t, tmp)
	in := c.in
	args := []string{"--size", "112", "--backbone", in.Backbone, "--head", in.Head,
		"--normal", in.Normal[0], "--normal", in.Normal[1], "--abnormal", in.Abnormal[0].Path, "--abnormal-mask", in.Abnormal[0].Mask}
	bad := filepath.Join(tmp, "bad.safetensors")
	if err := os.WriteFile(bad, []byte("not weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, a := range map[string][]string{
		"no query":                 args,
		"mask count":               {"--backbone", in.Backbone, "--head", in.Head, "--abnormal", in.Abnormal[0].Path, in.Queries[0]},
		"missing query":            append(slices.Clone(args), filepath.Join(tmp, "nope.png")),
		"missing head":             {"--backbone", in.Backbone, "--head", filepath.Join(tmp, "nope.safetensors"), "--normal", in.Normal[0], in.Queries[0]},
		"backbone w/o refs":        {"--backbone", in.Backbone, tmp},
		"bad head (in the window)": append(slices.Clone(args), "--head", bad, "--screenshot", filepath.Join(tmp, "x.png"), in.Queries[0]),
	} {
		out, err := exec.Command(bin, a...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "ideal-view: ") {
			t.Errorf("%s: exit %v, output %s", name, err, out)
		}
	}
	shot := filepath.Join(tmp, "shot.png")
	if keep := os.Getenv("IDEAL_VIEW_SCREENSHOT"); keep != "" {
		shot = keep
	}
	const w, h = 480, 320
	run := append(slices.Clone(args), "--width", fmt.Sprint(w), "--height", fmt.Sprint(h), "--screenshot", shot, "--frames", "3")
	run = append(run, in.Queries...)
	if out, err := exec.Command(bin, run...).CombinedOutput(); err != nil {
		t.Fatalf("ideal-view: %v\n%s", err, out)
	}
	img := readPNG(t, shot)
	if img.Bounds().Dx() != w || img.Bounds().Dy() != h {
		t.Fatalf("screenshot %v, want %d×%d", img.Bounds(), w, h)
	}
	s := startSession(t, in)
	s.Wait()
	insp := NewInspector([]*Episode{{Session: s}})
	insp.Resize(w, h)
	want := insp.Render(0, 0)
	st := insp.State()
	if st.Current().Name != "bad" {
		t.Fatalf("worst query %s, want bad", st.Current().Name)
	}
	// The view is 384×320 (panel 96): the 128×128 query at zoom 2.5, pan (32, 0).
	// Query pixel (x, y) is screen (32 + 2.5x, 2.5y).
	scr := func(x, y float64) (int, int) { return int(32 + 2.5*x), int(2.5 * y) }
	hx, hy := scr(88, 40) // the defect's centre
	cx, cy := scr(40, 80) // plain texture
	p := insp.Panel()
	thumb := p.Thumbs[2] // the abnormal reference: its mask (16..47, 72..103) scaled by side/128
	k := float64(thumb.Dx()) / 128
	ex, ey := thumb.Min.X+int(math.Ceil(16*k)), thumb.Min.Y+int(88*k) // first column whose nearest source is 16
	for _, pt := range [][2]int{{hx, hy}, {hx + 10, hy + 5}, {cx, cy}, {cx + 30, cy + 20}, {ex, ey}, {thumb.Min.X + 2, thumb.Min.Y + 2}} {
		got, exp := at(img, pt[0], pt[1]), at(want, pt[0], pt[1])
		for j := range 3 {
			if d := got[j] - exp[j]; d < -2 || d > 2 {
				t.Errorf("screen (%d,%d) %v, want %v", pt[0], pt[1], got, exp)
				break
			}
		}
	}
	if got := at(img, ex, ey); got != [3]int{int(MaskEdge[0]), int(MaskEdge[1]), int(MaskEdge[2])} {
		t.Errorf("abnormal thumbnail's mask contour at (%d,%d): %v, want %v", ex, ey, got, MaskEdge)
	}
	// As the map says: A is higher over the defect than over the texture, so the
	// overlay (inferno) is brighter there.
	q := st.Current()
	patch := func(x, y int) float32 { return q.Maps[MapA][(y*q.Grid/128)*q.Grid+x*q.Grid/128] }
	if patch(88, 40) <= patch(40, 80) {
		t.Fatalf("A over the defect %v ≤ A over the texture %v: the case does not test the overlay", patch(88, 40), patch(40, 80))
	}
	hot, cold := at(img, hx, hy), at(img, cx, cy)
	if hot[0]+hot[1]+hot[2] <= cold[0]+cold[1]+cold[2]+60 {
		t.Errorf("defect %v not brighter than the background %v as the map says", hot, cold)
	}
}

// TestResultsWindowUnderX opens a results folder (two classes, as `ideal eval --out`
// writes) in the real viewer: the screenshot shows the first class's worst query with
// its ground-truth contour and the references, as this process renders them.
func TestResultsWindowUnderX(t *testing.T) {
	needX(t)
	tmp := t.TempDir()
	bin := buildViewer(t)
	c := writeScoringCase(t, tmp)
	dir := filepath.Join(tmp, "out")
	writeResultsFolder(t, dir, c, c.in.Head)
	shot := filepath.Join(tmp, "shot.png")
	const w, h = 480, 320
	if out, err := exec.Command(bin, "--width", fmt.Sprint(w), "--height", fmt.Sprint(h), "--screenshot", shot, dir).CombinedOutput(); err != nil {
		t.Fatalf("ideal-view: %v\n%s", err, out)
	}
	img := readPNG(t, shot)
	eps, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	insp := NewInspector(eps)
	insp.Resize(w, h)
	want := insp.Render(0, 0)
	if insp.State().Current().Name != "bad" || insp.Episode().Class != "pcb" {
		t.Fatalf("shows %s of %s", insp.State().Current().Name, insp.Episode().Class)
	}
	// Query pixel (x, y) is screen (32 + 2.5x, 2.5y); the ground truth's left edge is
	// column 72 (screen 212–214).
	gx, gy := 213, 100
	if got := at(img, gx, gy); got != [3]int{int(GroundTruthColour[0]), int(GroundTruthColour[1]), int(GroundTruthColour[2])} {
		t.Errorf("ground-truth contour at (%d,%d): %v", gx, gy, got)
	}
	thumb := insp.Panel().Thumbs[1]
	for _, pt := range [][2]int{{gx, gy}, {252, 100}, {130, 200}, {thumb.Min.X + 10, thumb.Min.Y + 10}, {thumb.Max.X - 3, thumb.Max.Y - 3}} {
		got, exp := at(img, pt[0], pt[1]), at(want, pt[0], pt[1])
		for j := range 3 {
			if d := got[j] - exp[j]; d < -2 || d > 2 {
				t.Errorf("screen (%d,%d) %v, want %v", pt[0], pt[1], got, exp)
				break
			}
		}
	}
}
