package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io/fs"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/internal/chromium"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/results/scorerun"
	"github.com/ideal-fsad/ideal/wasm/engine"
	"github.com/ideal-fsad/ideal/wasm/site"
	"github.com/ideal-fsad/ideal/weights"
)

const chromiumPath = "/usr/bin/chromium"

// pageResult is one result card of the page: its query's name and position in the run
// (the cards themselves are sorted worst first), image score, time and verdict.
type pageResult struct {
	Name    string  `json:"name"`
	Index   int     `json:"index"`
	Score   float64 `json:"score"`
	MS      float64 `json:"ms"`
	Verdict string  `json:"verdict"`
}

// pageResultsJS reads the result cards in the page's order.
const pageResultsJS = `Array.from(document.querySelectorAll('#results .result')).map(c => ({name: c.dataset.name,
	index: Number(c.dataset.index), score: Number(c.dataset.score), ms: Number(c.dataset.ms), verdict: c.dataset.verdict}))`

// startWebAndChromium serves the demo on a loopback port and starts headless Chromium;
// both stop when the test ends. It skips the test when Chromium is not installed.
func startWebAndChromium(t *testing.T, timeout time.Duration) (context.Context, string) {
	t.Helper()
	return startChromiumOn(t, testWebHandler(t), timeout)
}

// startChromiumOn is startWebAndChromium serving h, with Chromium's extra options (e.g.
// chromium.WebGPU()).
func startChromiumOn(t *testing.T, h http.Handler, timeout time.Duration, extra ...chromedp.ExecAllocatorOption) (context.Context, string) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not found: install Debian's chromium package (make deps) to run the browser test", chromiumPath)
	}
	addr := startWeb(t, h)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), chromium.Options(chromiumPath, t.TempDir(), extra...)...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelT(); cancel(); cancelA() })
	return ctx, "http://" + addr + "/"
}

// pollJS waits, without a timeout of its own (ctx bounds it), for expr to be truthy.
func pollJS(ctx context.Context, expr string, every time.Duration) error {
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(every), chromedp.WithPollingTimeout(0)))
	return err
}

// waitResults waits for the page's run to end and reads its final state, status line
// and results, in the order of the run's queries; it fails the test unless the run
// ended "done".
func waitResults(t *testing.T, ctx context.Context) []pageResult {
	t.Helper()
	if err := pollJS(ctx, `document.body.dataset.state !== 'scoring'`, 20*time.Millisecond); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.state + ': ' + document.getElementById('status').textContent`))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if !strings.HasPrefix(state, "done") {
		t.Fatalf("page ended as %q", state)
	}
	results, err := chromedp.Run(ctx, chromedp.Evaluate[[]pageResult](pageResultsJS))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	slices.SortFunc(results, func(a, b pageResult) int { return a.Index - b.Index })
	for i, r := range results {
		if r.Index != i {
			t.Fatalf("the result cards' query positions are %v, want 0 … %d once each", results, len(results)-1)
		}
	}
	return results
}

func sampleRefs() (normals, abnormals, masks [][]byte) {
	smp := engine.Sample()
	for _, n := range smp.Normals {
		normals = append(normals, n.PNG)
	}
	return normals, [][]byte{smp.Abnormal.PNG}, [][]byte{smp.Mask.PNG}
}

// watchCSP collects the page's console messages about the content security policy; the
// function it returns fails the test for each one seen so far.
func watchCSP(ctx context.Context) func(*testing.T) {
	var (
		mu         sync.Mutex
		violations []string
	)
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				violations = append(violations, m.String())
				mu.Unlock()
			}
		}
	}()
	return func(t *testing.T) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		for _, v := range violations {
			t.Errorf("chromium: %s", v)
		}
	}
}

// TestWebSampleInChromium serves the demo, runs its built-in sample in headless Chromium,
// compares the scores the page shows with the same engine run natively and
// with 'ideal score' on the same inputs (the sample written to PNG files, the demo
// backbone and head to safetensors).
func TestWebSampleInChromium(t *testing.T) {
	ctx, url := startWebAndChromium(t, 3*time.Minute)
	step := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
	}
	checkCSP := watchCSP(ctx)
	step(chromedp.Do(ctx, chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("sample")), chromedp.Click(chromedp.ID("sample"))))
	results := waitResults(t, ctx)
	// The style sheet applies under the policy.
	font, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.body).fontFamily`))
	step(err)
	if !strings.Contains(font, "sans-serif") {
		t.Errorf("the page's font is %q, not style.css's system-ui, sans-serif", font)
	}
	checkCSP(t)
	checkEngine(t, ctx, true)
	compareWithNative(t, results)
}

// TestWebResponsiveInChromium scores many queries and, while they are being scored,
// presses the up arrow in the threshold field through the browser's input pipeline:
// the page's own handler must apply the new threshold (0.5 + one step) while the run
// is still going, which it cannot if the engine blocks the page's thread.
func TestWebResponsiveInChromium(t *testing.T) {
	ctx, url := startWebAndChromium(t, 4*time.Minute)
	dir := t.TempDir()
	smp := engine.Sample()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// 40 distinct queries (one pixel differs), so each takes a backbone pass.
	var queries []string
	for i := range 40 {
		img, err := png.Decode(bytes.NewReader(smp.Queries[i%len(smp.Queries)].PNG))
		if err != nil {
			t.Fatal(err)
		}
		rgba := image.NewRGBA(img.Bounds())
		draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
		rgba.Set(i, 0, color.RGBA{R: uint8(5 * i), A: 255})
		var buf bytes.Buffer
		if err := png.Encode(&buf, rgba); err != nil {
			t.Fatal(err)
		}
		queries = append(queries, write(fmt.Sprintf("q%02d.png", i), buf.Bytes()))
	}
	webStep(t, chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("run")),
		chromedp.SetUploadFiles(chromedp.ID("normals"), []string{write("normal.png", smp.Normals[0].PNG)}),
		chromedp.SetUploadFiles(chromedp.ID("abnormal"), []string{write("abnormal.png", smp.Abnormal.PNG)}),
		chromedp.SetUploadFiles(chromedp.ID("mask"), []string{write("mask.png", smp.Mask.PNG)}),
		chromedp.SetUploadFiles(chromedp.ID("queries"), queries), chromedp.Click(chromedp.ID("run"))))
	// Once the first result is in (the engine has warmed up), 39 queries are left.
	webStep(t, pollJS(ctx, `document.querySelectorAll('#results .result').length > 0 || document.body.dataset.state !== 'scoring'`, 2*time.Millisecond))
	webStep(t, chromedp.Do(ctx, chromedp.Focus(chromedp.ID("threshold")), chromedp.KeyEvent(kb.ArrowUp)))
	type handled struct {
		Threshold, State string
		Results          int
	}
	during, err := chromedp.Run(ctx, chromedp.Evaluate[handled](`({Threshold: document.body.dataset.threshold || '',
		State: document.body.dataset.state, Results: document.querySelectorAll('#results .result').length})`))
	webStep(t, err)
	results := waitResults(t, ctx)
	if during.Threshold != "0.51" || during.State != "scoring" || during.Results >= len(queries) {
		t.Errorf("after the key press in the threshold field: %+v; want threshold 0.51 applied while still scoring", during)
	}
	if len(results) != len(queries) {
		t.Fatalf("%d results, want %d", len(results), len(queries))
	}
	for _, r := range results {
		if want := map[bool]string{true: "anomalous", false: "normal"}[r.Score >= 0.51]; r.Verdict != want {
			t.Errorf("%s: score %.4f at threshold 0.51 shown as %q, want %q", r.Name, r.Score, r.Verdict, want)
		}
	}
	t.Logf("key press handled with %d of %d results in", during.Results, len(queries))
}

// pageEngine is what the page shows of the engine in use.
type pageEngine struct {
	Backend, SIMD, Workers, Isolated string
	Cores                            int
}

// checkEngine checks the engine the page reports: the SIMD build when 'make wasm' made
// the embedded engine, and, cross-origin isolated, one worker per core (up to 4) that
// split the passes; else one worker.
func checkEngine(t *testing.T, ctx context.Context, isolated bool) {
	t.Helper()
	e, err := chromedp.Run(ctx, chromedp.Evaluate[pageEngine](`(() => { const d = document.getElementById('engine-info').dataset;
		return {Backend: d.backend || '', SIMD: d.simd || '', Workers: d.workers || '', Isolated: d.isolated || '',
			Cores: navigator.hardwareConcurrency || 1}; })()`))
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	wantWorkers := 1
	if isolated {
		wantWorkers = min(e.Cores, 4)
	}
	if e.Isolated != strconv.FormatBool(isolated) || e.Workers != strconv.Itoa(wantWorkers) {
		t.Errorf("engine %+v: want isolated %v and %d worker(s)", e, isolated, wantWorkers)
	}
	if webEngineEmbedded && (e.SIMD != "true" || e.Backend != "cpu/wasm-simd128") {
		t.Errorf("engine %+v: the embedded engine ('make wasm') should run the SIMD128 kernels", e)
	}
	t.Logf("engine: %+v", e)
}

// Without cross-origin isolation (a server that does not send COEP) the page runs on
// one worker, and scores the sample as the isolated page does.
func TestWebWithoutIsolationInChromium(t *testing.T) {
	h := testWebHandler(t)
	strip := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(noCOEP{w}, r)
	})
	ctx, url := startChromiumOn(t, strip, 3*time.Minute)
	webStep(t, chromedp.Do(ctx, chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("sample")), chromedp.Click(chromedp.ID("sample"))))
	results := waitResults(t, ctx)
	checkEngine(t, ctx, false)
	compareWithNative(t, results)
}

// A follower worker failing while the sample is scored: the run still ends with the
// right scores (the leader finishes the pass alone), a warning says so, and the pool
// goes on with one worker.
func TestWebWorkerFailureInChromium(t *testing.T) {
	ctx, url := startWebAndChromium(t, 3*time.Minute)
	webStep(t, chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("sample"))))
	webStep(t, pollJS(ctx, `document.getElementById('engine-info').dataset.state === 'reported'`, 10*time.Millisecond))
	workers, err := chromedp.Run(ctx, chromedp.Evaluate[int](`worker.size`))
	webStep(t, err)
	if workers < 2 {
		t.Skipf("the pool has %d worker (one core): nothing to fail", workers)
	}
	webStep(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("sample"))))
	// The run has begun (its warnings list cleared, its job sent).
	webStep(t, pollJS(ctx, `document.body.dataset.runs === '1'`, 2*time.Millisecond))
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`worker.workers[1].dispatchEvent(new ErrorEvent('error', {message: 'planted failure'}))`))
	webStep(t, err)
	results := waitResults(t, ctx)
	compareWithNative(t, results)
	type after struct {
		Warnings, Workers string
		Size              int
	}
	a, err := chromedp.Run(ctx, chromedp.Evaluate[after](`({Warnings: document.getElementById('warnings').textContent,
		Workers: document.getElementById('engine-info').dataset.workers || '', Size: worker.size})`))
	webStep(t, err)
	if !strings.Contains(a.Warnings, "worker 1 failed (planted failure)") || a.Size != 1 || a.Workers != "1" {
		t.Errorf("after a follower failed: %+v; want its warning, and one worker in the pool and on the page", a)
	}
}

// noCOEP drops the Cross-Origin-Embedder-Policy header from a response.
type noCOEP struct{ http.ResponseWriter }

func (w noCOEP) WriteHeader(code int) {
	w.Header().Del("Cross-Origin-Embedder-Policy")
	w.ResponseWriter.WriteHeader(code)
}

func (w noCOEP) Write(b []byte) (int, error) {
	w.Header().Del("Cross-Origin-Embedder-Policy")
	return w.ResponseWriter.Write(b)
}

// compareWithNative checks the page's scores of the built-in sample against the same
// engine run natively and against 'ideal score' on the same inputs.
func compareWithNative(t *testing.T, results []pageResult) {
	t.Helper()
	s, err := engine.NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.SetReferences(sampleRefs()); err != nil {
		t.Fatal(err)
	}
	queries := engine.Sample().Queries
	if len(results) != len(queries) {
		t.Fatalf("page shows %d results, want %d", len(results), len(queries))
	}
	cli := scoreSampleWithCLI(t, "", nil)
	var maxCLI float64
	for i, q := range queries {
		start := time.Now()
		r, err := s.Score(q.PNG)
		if err != nil {
			t.Fatal(err)
		}
		native := time.Since(start)
		got := results[i]
		if got.Name != q.Name || math.Abs(got.Score-float64(r.ImageScore)) > 1e-4 {
			t.Errorf("query %d: page %s = %.6f, native %s = %.6f", i, got.Name, got.Score, q.Name, r.ImageScore)
		}
		d := math.Abs(got.Score - float64(cli[i]))
		maxCLI = max(maxCLI, d)
		if d > 1e-4 {
			t.Errorf("query %d: page %s = %.6f, ideal score CLI = %.6f", i, got.Name, got.Score, cli[i])
		}
		t.Logf("%s: score page %.6f native engine %.6f ideal score CLI %.6f; time per query Chromium %.0f ms, native %.0f ms",
			q.Name, got.Score, r.ImageScore, cli[i], got.MS, float64(native.Microseconds())/1000)
	}
	t.Logf("max |page − ideal score CLI| = %.3g", maxCLI)
}

// scoreSampleWithCLI writes the built-in sample's images and mask as PNG files and the
// demo backbone and head as safetensors, runs 'ideal score' on them at the demo's input
// size and returns each sample query's image score from the JSON output, in order. A
// headPath replaces the demo head, a maskPNG the sample's mask.
func scoreSampleWithCLI(t *testing.T, headPath string, maskPNG []byte) []float32 {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bb := filepath.Join(dir, "backbone.safetensors")
	demo := engine.DemoBackbone()
	if demo.Metadata["num_attention_heads"] != strconv.Itoa(engine.DemoHeads) {
		t.Fatalf("demo backbone metadata %v does not record its %d attention heads", demo.Metadata, engine.DemoHeads)
	}
	if err := weights.WriteSafetensors(bb, demo.Tensors, demo.Metadata); err != nil {
		t.Fatal(err)
	}
	// The scores hardly depend on the head count (LayerScale 1e-5), so check directly
	// that the CLI's loader reads the demo's.
	if m, err := dinov2.Load(bb, dinov2.Options{}); err != nil {
		t.Fatal(err)
	} else if m.Heads != engine.DemoHeads {
		t.Fatalf("the written demo backbone loads with %d attention heads, want %d", m.Heads, engine.DemoHeads)
	}
	hw, err := engine.DemoHead(engine.DemoWidth)
	if err != nil {
		t.Fatal(err)
	}
	hd := filepath.Join(dir, "head.safetensors")
	if err := hw.WriteFile(hd); err != nil {
		t.Fatal(err)
	}
	if headPath != "" {
		hd = headPath
	}
	smp := engine.Sample()
	if maskPNG == nil {
		maskPNG = smp.Mask.PNG
	}
	args := []string{"--backbone", bb, "--head", hd, "--size", strconv.Itoa(engine.DemoSize)}
	for i, n := range smp.Normals {
		args = append(args, "--normal", write("normal"+strconv.Itoa(i)+".png", n.PNG))
	}
	args = append(args, "--abnormal", write("abnormal.png", smp.Abnormal.PNG), "--abnormal-mask", write("mask.png", maskPNG))
	out := filepath.Join(dir, "out.json")
	args = append(args, "--json", out)
	var qpaths []string
	for i, q := range smp.Queries {
		p := write("query"+strconv.Itoa(i)+".png", q.PNG)
		qpaths = append(qpaths, p)
		args = append(args, p)
	}
	if err := runScore(args); err != nil {
		t.Fatalf("ideal score %s: %v", strings.Join(args, " "), err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res scorerun.JSON
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Queries) != len(qpaths) {
		t.Fatalf("ideal score: %d queries in the JSON, want %d", len(res.Queries), len(qpaths))
	}
	scores := make([]float32, len(qpaths))
	for i, q := range res.Queries {
		if q.Path != qpaths[i] {
			t.Fatalf("ideal score: JSON query %d is %s, want %s", i, q.Path, qpaths[i])
		}
		scores[i] = q.ImageScore
	}
	return scores
}

// TestWebViTSTiming loads a seeded random ViT-S/14 backbone file through the page's file
// input and scores one sample query at IDEAL_WEB_VITS_SIZE (default 224) in Chromium and
// natively. Slow: runs only with IDEAL_WEB_VITS=1.
func TestWebViTSTiming(t *testing.T) {
	if os.Getenv("IDEAL_WEB_VITS") == "" {
		t.Skip("set IDEAL_WEB_VITS=1 (and optionally IDEAL_WEB_VITS_SIZE) to time ViT-S/14 in Chromium")
	}
	size := 224
	if v := os.Getenv("IDEAL_WEB_VITS_SIZE"); v != "" {
		size, _ = strconv.Atoi(v)
	}
	ctx, url := startWebAndChromium(t, 9*time.Minute)
	dir := t.TempDir()
	bb := filepath.Join(dir, "vits.safetensors")
	if err := weights.WriteSafetensors(bb, dinov2.RandomWeights(384, 12, 14, 37, 0), map[string]string{"num_attention_heads": "6"}); err != nil {
		t.Fatal(err)
	}
	smp := engine.Sample()
	files := map[string][]byte{"normal.png": smp.Normals[0].PNG, "abnormal.png": smp.Abnormal.PNG, "mask.png": smp.Mask.PNG, "query.png": smp.Queries[1].PNG}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	up := func(id, name string) chromedp.Action[chromedp.Void] {
		return chromedp.SetUploadFiles(chromedp.ID(id), []string{filepath.Join(dir, name)})
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("run")),
		up("backbone", "vits.safetensors"), up("normals", "normal.png"), up("abnormal", "abnormal.png"),
		up("mask", "mask.png"), up("queries", "query.png"),
		chromedp.SetValue(chromedp.ID("size"), strconv.Itoa(size)), chromedp.Click(chromedp.ID("run"))); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	results := waitResults(t, ctx)

	data, err := os.ReadFile(bb)
	if err != nil {
		t.Fatal(err)
	}
	s, err := engine.NewFromBytes(data, size)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.SetReferences([][]byte{smp.Normals[0].PNG}, [][]byte{smp.Abnormal.PNG}, [][]byte{smp.Mask.PNG}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r, err := s.Score(smp.Queries[1].PNG)
	if err != nil {
		t.Fatal(err)
	}
	native := time.Since(start)
	if len(results) != 1 || math.Abs(results[0].Score-float64(r.ImageScore)) > 1e-4 {
		t.Fatalf("page %+v, native score %.6f", results, r.ImageScore)
	}
	t.Logf("ViT-S/14 at %d: time per query Chromium %.0f ms, native (pure Go, 1 thread) %.0f ms; score %.6f",
		size, results[0].MS, float64(native.Microseconds())/1000, r.ImageScore)
}

func TestWebBadFlags(t *testing.T) {
	if err := runWeb([]string{"extra"}); err == nil {
		t.Error("unexpected argument: no error")
	}
	if err := runWeb([]string{"--addr", "not-an-address"}); err == nil {
		t.Error("bad address: no error")
	}
}

var (
	webEngineEmbedded bool // the site's engine is the one 'make wasm' built (not built by the test)
	webHandlerOnce    sync.Once
	webHandlerMade    http.Handler
	webHandlerErr     error
)

// testWebHandler returns site.Handler of the embedded site, made once per test binary.
// When the site has no ideal.wasm ('make wasm' did not run before 'go test'), the test
// builds the engine into a copy of the site (a released binary never builds anything).
func testWebHandler(t *testing.T) http.Handler {
	t.Helper()
	webHandlerOnce.Do(func() {
		webHandlerMade, webHandlerErr = site.Handler(site.Static)
		webEngineEmbedded = webHandlerErr == nil
		if errors.Is(webHandlerErr, site.ErrNoEngine) {
			var siteFS fs.FS
			if siteFS, webHandlerErr = siteWithEngine(); webHandlerErr == nil {
				webHandlerMade, webHandlerErr = site.Handler(siteFS)
			}
		}
	})
	if webHandlerErr != nil {
		t.Fatal(webHandlerErr)
	}
	return webHandlerMade
}

// siteWithEngine is the embedded site with ideal.wasm built now and wasm_exec.js from
// GOROOT.
func siteWithEngine() (fs.FS, error) {
	dir, err := os.MkdirTemp("", "ideal-web-test-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "ideal.wasm")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "github.com/ideal-fsad/ideal/wasm/main")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building ideal.wasm: %v\n%s", err, msg)
	}
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil, err
	}
	m := fstest.MapFS{}
	err = fs.WalkDir(site.Static, "static", func(name string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			data, err := fs.ReadFile(site.Static, name)
			m[name] = &fstest.MapFile{Data: data}
			return err
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	for name, p := range map[string]string{"ideal.wasm": out, "wasm_exec.js": filepath.Join(strings.TrimSpace(string(root)), "lib", "wasm", "wasm_exec.js")} {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		m["static/"+name] = &fstest.MapFile{Data: data}
	}
	return m, nil
}

// startWeb serves h with the demo's server (site.DefaultLimits) on a loopback port
// until the test ends and returns the address.
func startWeb(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := site.NewServer(h, site.DefaultLimits)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestWebListen: the default address is loopback; an address reachable from other
// machines is a usage error without --public and served with a warning with it.
// (The server itself is tested in package site.)
func TestWebListen(t *testing.T) {
	if host, _, err := net.SplitHostPort(webDefaultAddr); err != nil || !net.ParseIP(host).IsLoopback() {
		t.Errorf("default address %s is not loopback", webDefaultAddr)
	}
	var stderr strings.Builder
	if ln, err := webListen("127.0.0.1:0", false, &stderr); err != nil || stderr.Len() > 0 {
		t.Errorf("127.0.0.1:0: %v, warning %q", err, stderr.String())
	} else {
		ln.Close()
	}
	if err := runWeb([]string{"--addr", "0.0.0.0:0"}); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--public") {
		t.Errorf("ideal web --addr 0.0.0.0:0: %v, want a usage error naming --public", err)
	}
	if ln, err := webListen("0.0.0.0:0", true, &stderr); err != nil {
		t.Logf("0.0.0.0:0: %v", err)
	} else {
		ln.Close()
		if !strings.Contains(stderr.String(), "WARNING") {
			t.Errorf("0.0.0.0:0 with --public: no warning (%q)", stderr.String())
		}
	}
}

// TestWebShutdown runs the real binary, fetches the page, sends SIGINT and checks that
// the server stops and the command exits with status 0.
func TestWebShutdown(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT to send on Windows")
	}
	if _, err := fs.Stat(site.Static, "static/ideal.wasm"); err != nil {
		t.Skip("the site has no ideal.wasm to embed: run 'make wasm' first ('make test' does)")
	}
	bin := buildIdealBinary(t)
	cmd := exec.Command(bin, "web", "--addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	var url string
	for url == "" && lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), "serving "); ok {
			url, _, _ = strings.Cut(rest, " ")
		}
	}
	if url == "" {
		t.Fatal("ideal web printed no address")
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("GET %s: %d, CSP %q", url, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var rest strings.Builder
	done := make(chan error, 1)
	go func() {
		for lines.Scan() {
			rest.WriteString(lines.Text() + "\n")
		}
		done <- cmd.Wait()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ideal web after SIGINT: %v, want exit status 0 (stderr %q)", err, rest.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("ideal web still running 15 s after SIGINT")
	}
	if !strings.Contains(rest.String(), "stopping") {
		t.Errorf("stderr after SIGINT: %q", rest.String())
	}
	if _, err := http.Get(url); err == nil {
		t.Error("the server still answers after exiting")
	}
}

// buildIdealBinary builds the ideal command into a temporary folder.
func buildIdealBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the ideal binary; skipped in -short mode")
	}
	bin := filepath.Join(t.TempDir(), "ideal")
	if msg, err := exec.Command("go", "build", "-o", bin, "github.com/ideal-fsad/ideal/cmd/ideal").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	return bin
}

// webStep fails the test on a Chromium error.
func webStep(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
}

// runInPage clicks the button with the given id, which starts a run, and returns the
// page's results once that run has ended.
func runInPage(t *testing.T, ctx context.Context, id string) []pageResult {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Number(document.body.dataset.runs || 0)`))
	webStep(t, err)
	webStep(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID(id))))
	webStep(t, pollJS(ctx, fmt.Sprintf(`Number(document.body.dataset.runs || 0) > %d || document.body.dataset.state === 'error'`, n), 5*time.Millisecond))
	return waitResults(t, ctx)
}

// compareScores checks the page's scores of the sample queries against want (within tol).
func compareScores(t *testing.T, what string, page []pageResult, want []float32, tol float64) {
	t.Helper()
	queries := engine.Sample().Queries
	if len(page) != len(queries) || len(want) != len(queries) {
		t.Fatalf("%s: page shows %d results, the CLI gave %d, want %d", what, len(page), len(want), len(queries))
	}
	for i, q := range queries {
		d := math.Abs(page[i].Score - float64(want[i]))
		if page[i].Name != q.Name || d > tol {
			t.Errorf("%s: query %d: page %s = %.7f, ideal score CLI %s = %.7f (tolerance %.0e)", what, i, page[i].Name, page[i].Score, q.Name, want[i], tol)
		}
		t.Logf("%s: %s page %.6f, CLI %.6f (|diff| %.2g)", what, q.Name, page[i].Score, want[i], d)
	}
}

// differ reports whether two score lists differ by more than tol somewhere.
func differ(a []pageResult, b []float32, tol float64) bool {
	for i := range min(len(a), len(b)) {
		if math.Abs(a[i].Score-float64(b[i])) > tol {
			return true
		}
	}
	return false
}

// TestWebHeadFileInChromium picks IDE head files in the page: a head of the wrong width
// and a corrupt file are refused with their reasons while the demo head stays in use; a
// head written by 'ideal init-head' at another seed than the demo head's is taken, named
// on the page, and the built-in sample's scores equal 'ideal score --json' with that head
// (and differ from the demo head's, so the picked head is the one used); changing the
// engine (the use-gpu box) keeps the picked head and scores the results again.
func TestWebHeadFileInChromium(t *testing.T) {
	ctx, url := startWebAndChromium(t, 3*time.Minute)
	dir := t.TempDir()
	good := filepath.Join(dir, "head-seed7.safetensors")
	if err := runInitHead([]string{"-o", good, "--channels", strconv.Itoa(engine.DemoWidth), "--seed", "7"}); err != nil {
		t.Fatal(err)
	}
	wide := filepath.Join(dir, "head-384.safetensors")
	if err := runInitHead([]string{"-o", wide, "--channels", "384", "--seed", "7"}); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.safetensors")
	if err := os.WriteFile(junk, []byte("this is not a head"), 0o644); err != nil {
		t.Fatal(err)
	}
	defer watchCSP(ctx)(t)
	webStep(t, chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("head"))))
	type headState struct {
		State, Status, Error string
	}
	pick := func(path string) headState {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Number(document.body.dataset.headMessages || 0)`))
		webStep(t, err)
		webStep(t, chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.ID("head"), []string{path})))
		webStep(t, pollJS(ctx, fmt.Sprintf(`Number(document.body.dataset.headMessages || 0) > %d`, n), 10*time.Millisecond))
		st, err := chromedp.Run(ctx, chromedp.Evaluate[headState](`(() => { const s = document.getElementById('head-status');
			return {State: s.dataset.state, Status: s.textContent, Error: document.getElementById('head-error').textContent}; })()`))
		webStep(t, err)
		return st
	}
	if st := pick(wide); st.State != "demo" || !strings.Contains(st.Error, "384") || !strings.Contains(st.Error, "64") || !strings.Contains(st.Status, "demo head") {
		t.Errorf("a 384-wide head on the 64-wide demo backbone: %+v; want it refused naming both widths, the demo head still in use", st)
	}
	if st := pick(junk); st.State != "demo" || !strings.Contains(st.Error, "head refused") || !strings.Contains(st.Status, "demo head") {
		t.Errorf("a corrupt head file: %+v; want it refused, the demo head still in use", st)
	}
	if st := pick(good); st.State != "file" || st.Error != "" || !strings.Contains(st.Status, "head-seed7.safetensors") || !strings.Contains(st.Status, "M = 45") {
		t.Errorf("a good head file: %+v; want it in use and named with M = 45", st)
	}
	results := runInPage(t, ctx, "sample")
	compareScores(t, "picked head", results, scoreSampleWithCLI(t, good, nil), 1e-4)
	if !differ(results, scoreSampleWithCLI(t, "", nil), 1e-3) {
		t.Error("the picked head gives the demo head's scores: the page did not use it")
	}
	// The same sample picked as files and scored with "Score" at once: the page waits for
	// the abnormal reference and its mask file (where the painting starts) to be decoded.
	smp := engine.Sample()
	file := func(name string, data []byte) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var normals, queries []string
	for _, n := range smp.Normals {
		normals = append(normals, file(n.Name, n.PNG))
	}
	for _, q := range smp.Queries {
		queries = append(queries, file(q.Name, q.PNG))
	}
	webStep(t, chromedp.Do(ctx, chromedp.SetUploadFiles(chromedp.ID("normals"), normals),
		chromedp.SetUploadFiles(chromedp.ID("abnormal"), []string{file(smp.Abnormal.Name, smp.Abnormal.PNG)}),
		chromedp.SetUploadFiles(chromedp.ID("mask"), []string{file(smp.Mask.Name, smp.Mask.PNG)}),
		chromedp.SetUploadFiles(chromedp.ID("queries"), queries)))
	compareScores(t, "sample as files, picked head", runInPage(t, ctx, "run"), scoreSampleWithCLI(t, good, nil), 2e-6)
	mask, err := imaging.DecodeMask(smp.Mask.PNG)
	if err != nil {
		t.Fatal(err)
	}
	painted, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.idealPaint.bits.reduce((a, v) => a + v, 0)`))
	webStep(t, err)
	if painted != mask.Count() || painted == 0 {
		t.Errorf("the canvas starts from %d mask pixels, the mask file has %d", painted, mask.Count())
	}

	// Changing the engine (the use-gpu box) starts a new one, which gets the picked head
	// and scores the results shown again.
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Number(document.body.dataset.runs || 0)`))
	webStep(t, err)
	webStep(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("use-gpu"))))
	webStep(t, pollJS(ctx, fmt.Sprintf(`Number(document.body.dataset.runs || 0) > %d || document.body.dataset.state === 'error'`, n), 10*time.Millisecond))
	compareScores(t, "new engine, picked head", waitResults(t, ctx), scoreSampleWithCLI(t, good, nil), 2e-6)
	if st, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('head-status').dataset.state + ': ' +
		document.getElementById('head-status').textContent`)); err != nil || !strings.HasPrefix(st, "file: head-seed7.safetensors") {
		t.Errorf("head after the engine changed: %q (%v); want the picked file", st, err)
	}

	webStep(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("head-demo"))))
	webStep(t, pollJS(ctx, `document.getElementById('head-status').dataset.state === 'demo'`, 10*time.Millisecond))
	compareScores(t, "demo head again", runInPage(t, ctx, "sample"), scoreSampleWithCLI(t, "", nil), 1e-4)
}

// rectMaskPNG returns a mask PNG of the sample's size, white on [x0, x1) × [y0, y1).
func rectMaskPNG(t *testing.T, x0, y0, x1, y1 int) []byte {
	t.Helper()
	const side = engine.DemoSize // the sample images are 224×224
	g := image.NewGray(image.Rect(0, 0, side, side))
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			g.Pix[y*g.Stride+x] = 255
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWebPaintMaskInChromium runs the built-in sample, clears the abnormal reference's
// mask on the page's canvas and paints a rectangle with a square brush through
// Chromium's mouse input (left drags), erases a row with a right drag and undoes it,
// re-scores, and compares the scores with 'ideal score --json' given a PNG mask of the
// same rectangle; a different rectangle gives different scores. The re-score runs no
// backbone pass in the worker (its features are cached). An empty mask takes the head's
// fallback with its warning, as the CLI does.
//
// The seeded demo head is untrained and moves the scores only by about 1e-4 between
// rectangles, so these comparisons use a tolerance of 2e-6 (the page and the CLI agree
// within about 3e-8) and the painted pixels themselves are compared exactly.
func TestWebPaintMaskInChromium(t *testing.T) {
	const maskTol = 2e-6
	ctx, url := startWebAndChromium(t, 3*time.Minute)
	defer watchCSP(ctx)(t)
	webStep(t, chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("sample"))))
	first := runInPage(t, ctx, "sample")
	compareScores(t, "sample mask", first, scoreSampleWithCLI(t, "", nil), maskTol)
	forwards := func() []int {
		t.Helper()
		f, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`Array.from(document.querySelectorAll('#results .result')).sort((a, b) => a.dataset.index - b.dataset.index).map(c => Number(c.dataset.forwards))`))
		webStep(t, err)
		return f
	}
	before := forwards()

	const brush = 8
	webStep(t, chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("brush"), strconv.Itoa(brush)), chromedp.Click(chromedp.ID("clear"))))
	type box struct{ Left, Top, Width, Height, W, H float64 }
	b, err := chromedp.Run(ctx, chromedp.Evaluate[box](`(() => { const c = document.getElementById('maskcanvas');
		c.scrollIntoView({block: 'center'}); const r = c.getBoundingClientRect();
		return {Left: r.left, Top: r.top, Width: r.width, Height: r.height, W: window.idealPaint.w, H: window.idealPaint.h}; })()`))
	webStep(t, err)
	if b.W != engine.DemoSize || b.H != engine.DemoSize || b.Width < b.W {
		t.Fatalf("mask canvas %+v: want the sample's %d×%d pixels shown at least 1:1", b, engine.DemoSize, engine.DemoSize)
	}
	// client maps an image pixel to an integer client position inside it, and checks
	// that the page's mapping (floor((client − left) · W / width)) gives the pixel back.
	client := func(px, py int) (float64, float64) {
		t.Helper()
		cx := math.Round(b.Left + (float64(px)+0.5)*b.Width/b.W)
		cy := math.Round(b.Top + (float64(py)+0.5)*b.Height/b.H)
		if gx, gy := int(math.Floor((cx-b.Left)*b.W/b.Width)), int(math.Floor((cy-b.Top)*b.H/b.Height)); gx != px || gy != py {
			t.Fatalf("client (%v, %v) maps to pixel (%d, %d), not (%d, %d)", cx, cy, gx, gy, px, py)
		}
		return cx, cy
	}
	drag := func(right bool, pts ...[2]int) {
		t.Helper()
		button, buttons := input.MouseButtonLeft, int64(1)
		if right {
			button, buttons = input.MouseButtonRight, 2
		}
		withButton := func(p *input.DispatchMouseEventParams) { p.Button, p.Buttons, p.ClickCount = button, buttons, 1 }
		var acts []chromedp.Action[chromedp.Void]
		for i, p := range pts {
			x, y := client(p[0], p[1])
			typ := chromedp.MouseMoved
			if i == 0 {
				typ = chromedp.MousePressed
			}
			acts = append(acts, chromedp.MouseEvent(typ, x, y, withButton))
		}
		x, y := client(pts[len(pts)-1][0], pts[len(pts)-1][1])
		acts = append(acts, chromedp.MouseEvent(chromedp.MouseReleased, x, y, func(p *input.DispatchMouseEventParams) { p.Button, p.ClickCount = button, 1 }))
		webStep(t, chromedp.Do(ctx, acts...))
	}
	// pageMask reads the painted pixels as a row-major 0/1 string.
	pageMask := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`Array.from(window.idealPaint.bits, v => v ? '1' : '0').join('')`))
		webStep(t, err)
		return s
	}
	rectBits := func(x0, y0, x1, y1 int) string {
		var sb strings.Builder
		for y := range engine.DemoSize {
			for x := range engine.DemoSize {
				if x >= x0 && x < x1 && y >= y0 && y < y1 {
					sb.WriteByte('1')
				} else {
					sb.WriteByte('0')
				}
			}
		}
		return sb.String()
	}
	if m := pageMask(); strings.Contains(m, "1") {
		t.Fatal("the mask is not empty after Clear")
	}
	// A zig-zag of horizontal strokes, rows brush pixels apart, with the square brush of
	// side 8 (pixels x−4 … x+3) covers exactly [x0−4, x1+4) × [y0−4, yLast+4).
	const x0, x1, y0, rows = 56, 88, 136, 5
	var pts [][2]int
	for r := range rows {
		y := y0 + brush*r
		if r%2 == 0 {
			pts = append(pts, [2]int{x0, y}, [2]int{x1, y})
		} else {
			pts = append(pts, [2]int{x1, y}, [2]int{x0, y})
		}
	}
	drag(false, pts...)
	rx0, ry0, rx1, ry1 := x0-brush/2, y0-brush/2, x1+brush/2, y0+brush*(rows-1)+brush/2
	want := rectBits(rx0, ry0, rx1, ry1)
	if pageMask() != want {
		t.Fatalf("the painted mask is not the rectangle [%d,%d)×[%d,%d)", rx0, rx1, ry0, ry1)
	}
	// Erase a row with a right drag, then undo it.
	drag(true, [2]int{x0, y0 + 2*brush}, [2]int{x1, y0 + 2*brush})
	if m := pageMask(); m == want || strings.Count(m, "1") >= strings.Count(want, "1") {
		t.Error("the right drag erased nothing")
	}
	webStep(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("undo"))))
	if pageMask() != want {
		t.Fatal("undo did not bring the rectangle back")
	}

	painted := runInPage(t, ctx, "rescore")
	compareScores(t, "painted rectangle", painted, scoreSampleWithCLI(t, "", rectMaskPNG(t, rx0, ry0, rx1, ry1)), maskTol)
	if other := scoreSampleWithCLI(t, "", rectMaskPNG(t, 140, 20, 180, 60)); !differ(painted, other, 10*maskTol) {
		t.Errorf("another rectangle gives the same scores %v as the painted one: the check could not fail", other)
	}
	if !differ(painted, []float32{float32(first[0].Score), float32(first[1].Score)}, 10*maskTol) {
		t.Error("the painted rectangle gives the sample mask's scores: the re-score did not use it")
	}
	if after := forwards(); len(after) == 0 || len(before) == 0 || after[len(after)-1] != before[len(before)-1] {
		t.Errorf("backbone passes in the worker: %v after the first run, %v after the re-score; want no new pass", before, after)
	}

	// An empty mask: the head's fallback, with its warning shown.
	webStep(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("clear"))))
	empty := runInPage(t, ctx, "rescore")
	warnings, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('warnings').textContent`))
	webStep(t, err)
	if !strings.Contains(warnings, "covers no patch") {
		t.Errorf("an empty painted mask: warnings %q, want the empty-mask fallback's", warnings)
	}
	compareScores(t, "empty mask", empty, scoreSampleWithCLI(t, "", rectMaskPNG(t, 0, 0, 0, 0)), maskTol)
}

// TestWebScreenshotInChromium scores the built-in sample in a 1280-pixel-wide Chromium
// window, types a threshold between the two queries' scores into the threshold field,
// checks the results grid (every sample query once, worst first, verdicts following the
// threshold, each card's image, anomaly map and overlay with its contour drawn) and the
// page's labels, and takes a screenshot of the whole page, which must be a PNG of a
// plausible size. With IDEAL_WRITE_SCREENSHOT=path (relative to the module root) it
// writes the screenshot there: IDEAL_WRITE_SCREENSHOT=docs/web-page.png makes README.md's.
func TestWebScreenshotInChromium(t *testing.T) {
	const width = 1280
	ctx, url := startWebAndChromium(t, 3*time.Minute)
	defer watchCSP(ctx)(t)
	webStep(t, chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("sample"))))
	results := runInPage(t, ctx, "sample")
	queries := engine.Sample().Queries
	if len(results) != len(queries) {
		t.Fatalf("page shows %d results, want %d", len(results), len(queries))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range results {
		lo, hi = min(lo, r.Score), max(hi, r.Score)
	}
	if hi-lo < 2e-3 {
		t.Fatalf("the sample's scores %v are too close to put a threshold between them", results)
	}
	th := strconv.FormatFloat(math.Round((lo+hi)/2*1000)/1000, 'f', -1, 64)
	webStep(t, chromedp.Do(ctx, chromedp.Focus(chromedp.ID("threshold")),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), chromedp.KeyEvent(th)))
	webStep(t, pollJS(ctx, fmt.Sprintf(`document.body.dataset.threshold === %q`, th), 10*time.Millisecond))
	thv, _ := strconv.ParseFloat(th, 64)
	// Every card's pictures drawn: the images loaded, the contour at this threshold.
	webStep(t, pollJS(ctx, fmt.Sprintf(`Array.from(document.querySelectorAll('#results .result')).every(c =>
		c.dataset.contour === %q && Array.from(c.querySelectorAll('img')).every(i => i.complete && i.naturalWidth > 0))`, th), 10*time.Millisecond))
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[[]pageResult](pageResultsJS))
	webStep(t, err)
	seen := map[string]bool{}
	for i, r := range shown {
		seen[r.Name] = true
		if i > 0 && r.Score > shown[i-1].Score {
			t.Errorf("result %d (%s, %.4f) is shown after a lower score (%s, %.4f): not worst first", i, r.Name, r.Score, shown[i-1].Name, shown[i-1].Score)
		}
		if want := map[bool]string{true: "anomalous", false: "normal"}[r.Score >= thv]; r.Verdict != want {
			t.Errorf("%s: score %.4f at threshold %s shown as %q, want %q", r.Name, r.Score, th, r.Verdict, want)
		}
	}
	for _, q := range queries {
		if !seen[q.Name] {
			t.Errorf("no result card for %s (cards %v)", q.Name, shown)
		}
	}
	type pageState struct {
		Engine, EngineState, Summary string
		Problems                     []string
	}
	st, err := chromedp.Run(ctx, chromedp.Evaluate[pageState](`(() => {
		const problems = [];
		for (const e of document.querySelectorAll('input, button, progress, select, textarea')) {
			const named = (e.labels && e.labels.length) || e.getAttribute('aria-label') || (e.tagName === 'BUTTON' && e.textContent.trim());
			if (!named) problems.push('unlabelled ' + e.tagName.toLowerCase() + '#' + e.id);
		}
		for (const i of document.querySelectorAll('#results img')) if (!i.alt) problems.push('image without alt text in ' + i.closest('.result').dataset.name);
		for (const c of document.querySelectorAll('#results canvas.heatmap')) {
			if (!c.getAttribute('aria-label')) problems.push('anomaly map without a label');
			if (c.width !== Number(c.closest('.result').dataset.grid)) problems.push('anomaly map of ' + c.width + ' pixels, grid ' + c.closest('.result').dataset.grid);
		}
		if (document.getElementById('results').getAttribute('aria-live') !== 'polite') problems.push('results not aria-live polite');
		if (document.getElementById('status').getAttribute('role') !== 'status') problems.push('status without role status');
		if (document.querySelectorAll('h1').length !== 1 || document.querySelectorAll('h2').length < 3) problems.push('headings');
		if (document.getElementById('counter')) problems.push('the old click counter is back');
		const e = document.getElementById('engine-info');
		return {Engine: e.textContent, EngineState: e.dataset.state, Summary: document.getElementById('summary').textContent, Problems: problems};
	})()`))
	webStep(t, err)
	for _, p := range st.Problems {
		t.Error(p)
	}
	if st.EngineState != "reported" && st.EngineState != "unreported" {
		t.Errorf("engine shown as %q (%s) after a run", st.Engine, st.EngineState)
	}
	t.Logf("engine: %s; %s", st.Engine, st.Summary)

	webStep(t, chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement.blur(); window.scrollTo(0, 0)`)))
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	webStep(t, err)
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != width || b.Dy() < 900 || b.Dy() > 20000 {
		t.Errorf("screenshot %d×%d, want %d wide and 900 to 20000 high", b.Dx(), b.Dy(), width)
	}
	t.Logf("screenshot %v, %d bytes", img.Bounds().Size(), len(shot))
	if p := os.Getenv("IDEAL_WRITE_SCREENSHOT"); p != "" {
		if !filepath.IsAbs(p) {
			p = filepath.Join(moduleRoot(t), p)
		}
		writeFileAtomic(t, p, shot)
		t.Logf("wrote %s", p)
	}
}

// moduleRoot is the folder of the go.mod above the working folder.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the working folder")
		}
		dir = up
	}
}

// writeFileAtomic writes data to a temporary file next to path and renames it to path.
func writeFileAtomic(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		t.Fatal(err)
	}
}

// TestWebEngineProgressInChromium gives the page's message handler the messages of an
// engine that reports itself and its progress inside a backbone pass ('engine', and
// 'progress' with block and blocks), as the multi-worker pool does, and checks what the
// page shows: the backend, SIMD, the workers and isolation; the blocks of the pass under
// way, hidden again once the engine stops reporting them.
func TestWebEngineProgressInChromium(t *testing.T) {
	ctx, url := startWebAndChromium(t, time.Minute)
	defer watchCSP(ctx)(t)
	webStep(t, chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("sample"))))
	type shown struct {
		Engine, Workers, Status, Queries, Blocks string
		BlocksHidden                             bool
		Block, BlocksMax, Done, Total            float64
	}
	send := func(msgs string) shown {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[shown](`(() => {
			for (const data of [`+msgs+`]) worker.onmessage({data});
			const $ = (id) => document.getElementById(id);
			return {Engine: $('engine-info').textContent, Workers: $('engine-info').dataset.workers || '',
				Status: $('status').textContent, Queries: $('progress-text').textContent, Blocks: $('block-text').textContent,
				BlocksHidden: getComputedStyle($('block-row')).display === 'none', Block: $('block-progress').value, BlocksMax: $('block-progress').max,
				Done: $('progress').value, Total: $('progress').max};
		})()`))
		webStep(t, err)
		return s
	}
	s := send(`{type: 'engine', backend: 'cpu/wasm-simd128', simd: true, workers: 4, isolated: true},
		{type: 'progress', text: 'scoring q.png (1/3)', done: 0, total: 3, block: 5, blocks: 12}`)
	for _, want := range []string{"cpu/wasm-simd128", "SIMD", "4 workers", "cross-origin isolated"} {
		if !strings.Contains(s.Engine, want) {
			t.Errorf("engine shown as %q, want %q in it", s.Engine, want)
		}
	}
	if s.Workers != "4" || s.Status != "scoring q.png (1/3)" || s.BlocksHidden || s.Block != 5 || s.BlocksMax != 12 ||
		!strings.Contains(s.Blocks, "5 of 12") || s.Done != 0 || s.Total != 3 || !strings.Contains(s.Queries, "0 of 3") {
		t.Errorf("after an engine message and a progress message with blocks: %+v", s)
	}
	s = send(`{type: 'engine', backend: 'cpu/go', simd: false, workers: 1, isolated: false},
		{type: 'progress', text: 'computing reference features'}`)
	if !strings.Contains(s.Engine, "CPU (cpu/go): no SIMD, 1 worker, not cross-origin isolated") || !s.BlocksHidden {
		t.Errorf("after an engine message without SIMD and a progress message without blocks: %+v", s)
	}
	// WebGPU, its CPU fallbacks (each distinct one once, on one line), and the reason
	// when WebGPU was asked for and not used.
	type gpuShown struct {
		Engine, Reason, Fallbacks    string
		ReasonHidden, FallbackHidden bool
	}
	gpuSend := func(msgs string) gpuShown {
		t.Helper()
		g, err := chromedp.Run(ctx, chromedp.Evaluate[gpuShown](`(() => {
			for (const data of [`+msgs+`]) worker.onmessage({data});
			const $ = (id) => document.getElementById(id);
			return {Engine: $('engine-info').textContent, Reason: $('engine-reason').textContent, Fallbacks: $('gpu-fallbacks').textContent,
				ReasonHidden: $('engine-reason').hidden, FallbackHidden: $('gpu-fallbacks').hidden};
		})()`))
		webStep(t, err)
		return g
	}
	g := gpuSend(`{type: 'engine', backend: 'webgpu/google', gpu: true, workers: 1, isolated: true, fallbacks: []},
		{type: 'result', name: 'x.png', image_score: 0.5, grid: 1, map: new Float32Array([0.5]), overlay: new Uint8Array(0), ms: 3,
			fallbacks: ['Softmax: too wide', 'GELU: no kernel']},
		{type: 'result', name: 'y.png', image_score: 0.4, grid: 1, map: new Float32Array([0.4]), overlay: new Uint8Array(0), ms: 3,
			fallbacks: ['Softmax: too wide']}`)
	if g.Engine != "WebGPU (webgpu/google)" || !g.ReasonHidden || g.FallbackHidden ||
		strings.Count(g.Fallbacks, "Softmax: too wide") != 1 || strings.Count(g.Fallbacks, "GELU: no kernel") != 1 {
		t.Errorf("after a WebGPU engine message and results with fallbacks: %+v", g)
	}
	if hasGPU, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!navigator.gpu && document.getElementById('use-gpu').checked`)); err != nil {
		t.Fatalf("chromium: %v", err)
	} else if hasGPU {
		g = gpuSend(`{type: 'engine', backend: 'cpu/wasm-simd128', simd: true, gpu: false, gpu_reason: 'no adapter', workers: 2, isolated: true}`)
		if !strings.HasPrefix(g.Engine, "CPU (cpu/wasm-simd128)") || g.ReasonHidden || !strings.Contains(g.Reason, "WebGPU not used: no adapter") {
			t.Errorf("WebGPU asked for, the CPU in use: %+v; want the reason shown", g)
		}
	}
}

// pageMapsJS reads the anomaly maps of the result cards, in the order of the run's
// queries.
const pageMapsJS = `cards.slice().sort((a, b) => a.index - b.index).map(c => Array.from(c.map))`

// pageEngineState is the engine line's state, backend and text, and the WebGPU fallbacks
// the page lists.
type pageEngineState struct {
	State, Backend, Text, Reason string
	Fallbacks                    []string
}

func readPageEngine(t *testing.T, ctx context.Context) pageEngineState {
	t.Helper()
	e, err := chromedp.Run(ctx, chromedp.Evaluate[pageEngineState](`(() => { const $ = (id) => document.getElementById(id);
		const d = $('engine-info').dataset;
		return {State: d.state || '', Backend: d.backend || '', Text: $('engine-info').textContent, Reason: $('engine-reason').textContent,
			Fallbacks: JSON.parse($('gpu-fallbacks').dataset.fallbacks || '[]')}; })()`))
	webStep(t, err)
	return e
}

// TestWebGPUSampleInChromium scores the built-in sample in Chromium with a WebGPU adapter
// (SwiftShader's, on the CPU). By default the page leaves that software adapter for the
// faster CPU engine and says why; with ?webgpu=on it runs the engine on WebGPU, with no
// op falling back to the CPU; unticking "use-gpu" restarts the engine on the CPU and
// scores the sample again. Both runs give the same scores and anomaly maps (within 1e-4) and the
// scores of 'ideal score --json'.
func TestWebGPUSampleInChromium(t *testing.T) {
	const tol = 1e-4
	ctx, url := startChromiumOn(t, testWebHandler(t), 5*time.Minute, chromium.WebGPU()...)
	defer watchCSP(ctx)(t)
	// By default the page skips a software adapter (SwiftShader here), slower than the
	// CPU engine, and says so.
	webStep(t, chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.ID("sample"))))
	webStep(t, pollJS(ctx, `document.getElementById('engine-info').dataset.state === 'reported'`, 10*time.Millisecond))
	if e := readPageEngine(t, ctx); !strings.HasPrefix(e.Backend, "cpu/") || !strings.Contains(e.Reason, "software") {
		t.Fatalf("engine %+v on a software adapter: want the CPU, with the reason", e)
	}
	// ?webgpu=on runs on it anyway: what this test checks.
	webStep(t, chromedp.Do(ctx, chromedp.Navigate(url+"?webgpu=on"), chromedp.WaitVisible(chromedp.ID("sample"))))
	box, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const b = document.getElementById('use-gpu');
		return 'checked ' + b.checked + ', disabled ' + b.disabled + ', navigator.gpu ' + !!navigator.gpu; })()`))
	webStep(t, err)
	if box != "checked true, disabled false, navigator.gpu true" {
		t.Fatalf("use-gpu box: %s; want it ticked and enabled in a browser with WebGPU", box)
	}
	webStep(t, pollJS(ctx, `document.getElementById('engine-info').dataset.state === 'reported'`, 10*time.Millisecond))
	if e := readPageEngine(t, ctx); !strings.HasPrefix(e.Backend, "webgpu/") || !strings.HasPrefix(e.Text, "WebGPU (webgpu/") {
		t.Fatalf("engine %+v: want WebGPU", e)
	}
	start := time.Now()
	gpuResults := runInPage(t, ctx, "sample")
	gpuTime := time.Since(start)
	gpuMaps, err := chromedp.Run(ctx, chromedp.Evaluate[[][]float64](pageMapsJS))
	webStep(t, err)
	gpuEngine := readPageEngine(t, ctx)
	if !strings.HasPrefix(gpuEngine.Backend, "webgpu/") {
		t.Fatalf("engine after the run %+v: want WebGPU", gpuEngine)
	}
	for _, f := range gpuEngine.Fallbacks {
		t.Errorf("WebGPU ran an op on the CPU: %s", f)
	}

	// Untick the box: the engine starts again on the CPU and scores the sample again.
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Number(document.body.dataset.runs || 0)`))
	webStep(t, err)
	start = time.Now()
	webStep(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("use-gpu"))))
	webStep(t, pollJS(ctx, fmt.Sprintf(`(Number(document.body.dataset.runs || 0) > %d && document.getElementById('engine-info').dataset.backend.startsWith('cpu/')) ||
		document.body.dataset.state === 'error'`, n), 10*time.Millisecond))
	cpuResults := waitResults(t, ctx)
	cpuTime := time.Since(start)
	cpuMaps, err := chromedp.Run(ctx, chromedp.Evaluate[[][]float64](pageMapsJS))
	webStep(t, err)
	checkEngine(t, ctx, true)
	if e := readPageEngine(t, ctx); len(e.Fallbacks) > 0 || e.Reason != "" {
		t.Errorf("engine on the CPU %+v: want no WebGPU fallbacks or reason shown", e)
	}

	queries := engine.Sample().Queries
	if len(gpuResults) != len(queries) || len(cpuResults) != len(queries) || len(gpuMaps) != len(queries) || len(cpuMaps) != len(queries) {
		t.Fatalf("WebGPU: %d results, %d maps; CPU: %d results, %d maps; want %d", len(gpuResults), len(gpuMaps), len(cpuResults), len(cpuMaps), len(queries))
	}
	for i, q := range queries {
		g, c := gpuResults[i], cpuResults[i]
		if g.Name != q.Name || c.Name != q.Name {
			t.Errorf("query %d: WebGPU result %s, CPU result %s, want %s", i, g.Name, c.Name, q.Name)
		}
		if d := math.Abs(g.Score - c.Score); d > tol {
			t.Errorf("%s: image score WebGPU %.7f, CPU %.7f (|diff| %.2g > %.0e)", q.Name, g.Score, c.Score, d, tol)
		}
		if len(gpuMaps[i]) != len(cpuMaps[i]) || len(gpuMaps[i]) == 0 {
			t.Errorf("%s: map of %d values on WebGPU, %d on the CPU", q.Name, len(gpuMaps[i]), len(cpuMaps[i]))
			continue
		}
		var maxMap float64
		for j := range gpuMaps[i] {
			maxMap = max(maxMap, math.Abs(gpuMaps[i][j]-cpuMaps[i][j]))
		}
		if maxMap > tol {
			t.Errorf("%s: anomaly maps differ by up to %.2g between WebGPU and the CPU (> %.0e)", q.Name, maxMap, tol)
		}
		if g.MS <= 0 || c.MS <= 0 {
			t.Errorf("%s: time per query shown as %v ms on WebGPU, %v ms on the CPU", q.Name, g.MS, c.MS)
		}
		t.Logf("%s: score WebGPU %.7f, CPU %.7f; max |map diff| %.2g; time per query WebGPU %.0f ms, CPU %.0f ms",
			q.Name, g.Score, c.Score, maxMap, g.MS, c.MS)
	}
	cli := scoreSampleWithCLI(t, "", nil)
	compareScores(t, "WebGPU", gpuResults, cli, tol)
	compareScores(t, "CPU", cpuResults, cli, tol)
	t.Logf("engine %q: sample run in %v; after unticking use-gpu, %v (engine start and run)", gpuEngine.Text, gpuTime.Round(time.Millisecond), cpuTime.Round(time.Millisecond))
}
