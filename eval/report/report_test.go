package report

import (
	"image"
	"image/color"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/metrics"
)

// square is a w×w mask with the square [a, b)² set.
func square(w, a, b int) []bool {
	m := make([]bool, w*w)
	for y := a; y < b; y++ {
		for x := a; x < b; x++ {
			m[y*w+x] = true
		}
	}
	return m
}

// testQueries writes grey 64×64 images and returns queries: two good, two
// anomalous with a defect square where their map is high.
func testQueries(t *testing.T, dir string) []Query {
	t.Helper()
	const w = 64
	var qs []Query
	for i, defect := range []string{"good", "good", "crack", "crack"} {
		img := imaging.NewRGB(w, w)
		for j := range img.Pix {
			img.Pix[j] = 120
		}
		p := filepath.Join(dir, defect+string(rune('0'+i))+".png")
		if err := imaging.WritePNG(p, img); err != nil {
			t.Fatal(err)
		}
		q := Query{Path: p, DefectType: defect, W: w, H: w, Pixels: make([]float32, w*w), Score: 0.1 * float64(i)}
		if defect != "good" {
			q.Anomalous, q.Mask = true, square(w, 20, 40)
			for j, on := range square(w, 18, 38) {
				if on {
					q.Pixels[j] = 1
				}
			}
		}
		qs = append(qs, q)
	}
	return qs
}

func TestPanelShowsBothContours(t *testing.T) {
	qs := testQueries(t, t.TempDir())
	q := &qs[3]
	cmap, _ := imaging.LookupColormap("inferno")
	img := renderPanel(q, newTiles(q), scale{lo: 0, hi: 1, pixel: 0.5, image: 0.25, colormap: cmap})
	if img.Bounds().Dx() != PanelWidth {
		t.Errorf("panel %d wide, want %d", img.Bounds().Dx(), PanelWidth)
	}
	// The overlay tile: bottom right. The masks scale by tile/64.
	x0, y0 := tile+gap, header+tile+gap
	at := func(v int) int { return v * tile / 64 }
	count := func(c color.RGBA, x1, y1, x2, y2 int) int {
		n := 0
		for y := y0 + y1; y < y0+y2; y++ {
			for x := x0 + x1; x < x0+x2; x++ {
				if img.RGBAAt(x, y) == c {
					n++
				}
			}
		}
		return n
	}
	// Left edge of the ground truth (x = 20) below the prediction's bottom (y > 38):
	// only the ground truth's contour is there; the prediction's left edge is at 18.
	if n := count(GroundTruthColor, at(20)-1, at(38)+3, at(20)+3, at(40)-1); n == 0 {
		t.Error("no ground-truth contour pixel on the defect's left edge")
	}
	if n := count(PredictedColor, at(18)-1, at(20)+3, at(18)+3, at(36)); n == 0 {
		t.Error("no predicted contour pixel on the predicted region's left edge")
	}
	if n := count(PredictedColor, 0, 0, at(10), at(10)) + count(GroundTruthColor, 0, 0, at(10), at(10)); n != 0 {
		t.Errorf("%d contour pixels far from the defect", n)
	}
}

func TestReportFiles(t *testing.T) {
	dir := t.TempDir()
	qs := testQueries(t, dir)
	out := filepath.Join(dir, "out")
	b := New(out, Options{})
	b.StartClass("tile/x", []Reference{{Path: qs[0].Path}, {Path: qs[2].Path, Mask: writeMask(t, dir, qs[2].Mask)}})
	var scores []float64
	var labels []bool
	for _, q := range qs {
		if err := b.Add(q); err != nil {
			t.Fatal(err)
		}
		scores, labels = append(scores, q.Score), append(labels, q.Anomalous)
	}
	if err := b.EndClass(); err != nil {
		t.Fatal(err)
	}
	im, _ := metrics.ImageMetrics(scores, labels)
	cr := metrics.ClassResult{Class: "tile/x", IAUROC: metrics.Value(im.AUROC)}
	if err := b.Write(Summary{Title: "test", Classes: []metrics.ClassResult{cr}, Mean: metrics.Mean([]metrics.ClassResult{cr})}); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(out, FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "style=", "data:", "http://", "https://"} {
		if strings.Contains(string(html), bad) {
			t.Errorf("report.html contains %q", bad)
		}
	}
	refs := checkAssets(t, out)
	if refs < 4+5+2+1 {
		t.Errorf("%d pictures referenced", refs)
	}
	// Worst first: the threshold is the F1max one (0.2, the lowest anomalous score:
	// no error), so the anomalous ones (TP, lowest first) come before the good ones.
	if !strings.Contains(string(html), `data-outcome="TP"`) || strings.Index(string(html), `data-outcome="TP"`) > strings.Index(string(html), `data-outcome="TN"`) {
		t.Error("panels not in the order TP before TN")
	}
}

// writeMask writes a 64×64 mask PNG.
func writeMask(t *testing.T, dir string, m []bool) string {
	t.Helper()
	g := image.NewGray(image.Rect(0, 0, 64, 64))
	for i, on := range m {
		if on {
			g.Pix[i] = 255
		}
	}
	p := filepath.Join(dir, "mask.png")
	if err := imaging.WritePNG(p, g); err != nil {
		t.Fatal(err)
	}
	return p
}

var srcRE = regexp.MustCompile(`(?:src|href)="([^"#]+)"`)

// checkAssets fails the test for every picture or style sheet report.html references
// that is not a file under dir, and returns how many it references.
func checkAssets(t *testing.T, dir string) int {
	t.Helper()
	html, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	ms := srcRE.FindAllStringSubmatch(string(html), -1)
	for _, m := range ms {
		if filepath.IsAbs(m[1]) || strings.Contains(m[1], "..") || strings.Contains(m[1], ":") {
			t.Errorf("reference %q is not relative", m[1])
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(m[1]))); err != nil {
			t.Errorf("reference %q: %v", m[1], err)
		}
	}
	return len(ms)
}
