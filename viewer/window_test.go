package viewer

import (
	"encoding/json"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// TestScreenshotUnderX builds and runs the real viewer, cmd/ideal-view (under Xvfb in
// `make test`), takes a screenshot and checks the heat map over the defect. It lives
// here, not beside the binary, because a package that links Ebiten panics at start-up
// without a display, so it could not skip.
func TestScreenshotUnderX(t *testing.T) {
	if os.Getenv("DISPLAY") == "" {
		if os.Getenv("IDEAL_REQUIRE_GPU") == "1" {
			t.Fatal("IDEAL_REQUIRE_GPU=1 but DISPLAY is empty: run under scripts/with-xvfb.sh")
		}
		t.Skip("no DISPLAY: run under scripts/with-xvfb.sh")
	}
	if testing.Short() {
		t.Skip("builds the cgo viewer binary: skipped with -short")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "ideal-view")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/ideal-view").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
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
	if keep := os.Getenv("IDEAL_VIEW_SCREENSHOT"); keep != "" {
		shot = keep
	}
	cmd := exec.Command(bin, "--width", "256", "--height", "256", "--screenshot", shot, "--frames", "5", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ideal-view: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
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
	at := func(m image.Image, x, y int) [3]int {
		r, g, b, _ := m.At(x, y).RGBA()
		return [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
	}
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
