package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ideal-fsad/ideal/eval/report"
	"github.com/ideal-fsad/ideal/internal/chromium"
	"github.com/ideal-fsad/ideal/metrics"
	"github.com/ideal-fsad/ideal/wasm/site"
)

// screenshotPath is the report's screenshot in the README, rewritten by
// TestEvalReport when IDEAL_UPDATE_SCREENSHOTS=1.
const screenshotPath = "../../docs/report.png"

// TestEvalReport: ideal eval writes report.html whose pictures all exist and whose
// curves are those of metrics.json; ideal metrics --report writes one for the saved
// maps; the page renders in headless Chromium under the site's CSP without a console
// error.
func TestEvalReport(t *testing.T) {
	dir, dataDir, headPath := evalFixture(t)
	out := filepath.Join(dir, "ideal")
	stdout := runEvalCapture(t, "--data", dataDir, "--backbone", tinyDir+"weights.safetensors", "--size", "112", "--seed", "1",
		"--head", headPath, "--a-shot", "1", "--out", out, "--save-maps")
	if !strings.Contains(stdout, "report: "+filepath.Join(out, report.FileName)) {
		t.Errorf("stdout does not name the report:\n%s", stdout)
	}
	rep := readEvalReport(t, out)
	checkReportFiles(t, out, rep.Classes, true)

	mout := filepath.Join(dir, "maps-report")
	o, err := parseMetricsFlags([]string{"-q", "--data", dataDir, "--maps", filepath.Join(out, "maps"), "--scores", filepath.Join(out, "scores.csv"),
		"--skip-missing", "--report", mout, "--threshold", "0.37", "--json", filepath.Join(dir, "maps.json")})
	if err != nil {
		t.Fatal(err)
	}
	if err := evaluateMaps(o, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var mrep metricsReport
	readJSON(t, filepath.Join(dir, "maps.json"), &mrep)
	checkReportFiles(t, mout, mrep.Classes, false)
	if html, _ := os.ReadFile(filepath.Join(mout, report.FileName)); !strings.Contains(string(html), "0.37, given (--threshold)") {
		t.Error("the maps' report does not state the threshold given")
	}
	if _, err := parseMetricsFlags([]string{"--data", dataDir, "--maps", mout, "--threshold", "NaN"}); err == nil {
		t.Error("--threshold NaN accepted")
	}

	checkReportInChromium(t, out)
}

// checkReportFiles checks that every file report.html references exists under dir
// and that each class's plotted curves have the areas of its metrics.
func checkReportFiles(t *testing.T, dir string, classes []metrics.ClassResult, refs bool) {
	t.Helper()
	html, err := os.ReadFile(filepath.Join(dir, report.FileName))
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(string(html), -1)
	for _, m := range links {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(m[1]))); err != nil || strings.Contains(m[1], ":") {
			t.Errorf("%s references %q: %v", report.FileName, m[1], err)
		}
	}
	if n := strings.Count(string(html), "<img "); n < len(classes)*(5+6) {
		t.Errorf("%d pictures in %s", n, report.FileName)
	}
	if got := strings.Contains(string(html), "abnormal reference"); got != refs {
		t.Errorf("abnormal references shown: %v, want %v", got, refs)
	}
	for i, c := range classes {
		var cv report.Curves
		readJSON(t, filepath.Join(dir, report.AssetsDir, slugOf(i, c.Class), "curves.json"), &cv)
		if d := math.Abs(trapezoid(cv.Image.ROC) - float64(c.IAUROC)); !(d <= 1e-6) {
			t.Errorf("%s: the plotted ROC's area is %v, metrics.json's I-AUROC %v", c.Class, trapezoid(cv.Image.ROC), c.IAUROC)
		}
		if d := math.Abs(trapezoid(cv.Pixel.ROC) - float64(c.PAUROC)); !(d <= 2e-3) {
			t.Errorf("%s: the plotted pixel ROC's area is %v, P-AUROC %v", c.Class, trapezoid(cv.Pixel.ROC), c.PAUROC)
		}
		if d := math.Abs(trapezoid(cv.Pixel.PRO)/cv.ProLimit - float64(c.AUPRO)); !(d <= 5e-3) {
			t.Errorf("%s: the plotted PRO curve's area is %v, AU-PRO %v", c.Class, trapezoid(cv.Pixel.PRO)/cv.ProLimit, c.AUPRO)
		}
	}
}

// slugOf is report's folder of class i: its index and name (the test classes'
// names are plain).
func slugOf(i int, class string) string { return fmt.Sprintf("%02d-%s", i, class) }

func trapezoid(c []metrics.CurvePoint) float64 {
	var a float64
	for i := 1; i < len(c); i++ {
		a += (c[i].X - c[i-1].X) * (c[i].Y + c[i-1].Y) / 2
	}
	return a
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// checkReportInChromium serves dir with the site's security headers, opens
// report.html in headless Chromium and fails on any console error, CSP violation or
// picture that did not load. With IDEAL_UPDATE_SCREENSHOTS=1 it saves a screenshot
// of the page to screenshotPath.
func checkReportInChromium(t *testing.T, dir string) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not found: install Debian's chromium package (make deps) to run the browser test", chromiumPath)
	}
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", site.CSP)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	}))
	defer srv.Close()
	actx, cancelA := chromedp.NewExecAllocator(context.Background(),
		chromium.Options(chromiumPath, t.TempDir(), chromedp.Flag("hide-scrollbars", true))...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()
	checkConsole := watchConsole(ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1400, 2300), chromedp.Navigate(srv.URL+"/"+report.FileName),
		chromedp.WaitVisible(chromedp.ID("metrics-table"))); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if err := pollJS(ctx, `document.readyState === 'complete'`, 20*time.Millisecond); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	broken, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](
		`Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)`))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if len(broken) > 0 {
		t.Errorf("pictures not shown: %q", broken)
	}
	styled, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('table')).borderCollapse`))
	if err != nil || styled != "collapse" {
		t.Errorf("the style sheet is not applied: %q, %v", styled, err)
	}
	time.Sleep(100 * time.Millisecond) // the last console events
	checkConsole(t)
	if os.Getenv("IDEAL_UPDATE_SCREENSHOTS") == "1" {
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
		if err := os.WriteFile(screenshotPath, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", screenshotPath)
	}
}

// watchConsole collects the page's console errors, warnings and exceptions (a CSP
// violation is one); the function it returns fails the test for each one seen so far.
func watchConsole(ctx context.Context) func(*testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == "error" || m.Type == "warning" || m.Type == chromedp.ConsoleException || strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				seen = append(seen, m.String())
				mu.Unlock()
			}
		}
	}()
	return func(t *testing.T) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		for _, v := range seen {
			t.Errorf("chromium console: %s", v)
		}
	}
}
