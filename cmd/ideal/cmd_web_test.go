package main

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/wasm/engine"
	"github.com/ideal-fsad/ideal/weights"
)

const chromiumPath = "/usr/bin/chromium"

type pageResult struct {
	Name  string  `json:"name"`
	Score float64 `json:"score"`
	MS    float64 `json:"ms"`
}

// startWebAndChromium serves the demo on a loopback port and starts headless Chromium;
// both stop when the test ends. It skips the test when Chromium is not installed.
func startWebAndChromium(t *testing.T, timeout time.Duration) (context.Context, string) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("%s not found: install Debian's chromium package (make deps) to run the browser test", chromiumPath)
	}
	h, err := webHandler()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelT(); cancel(); cancelA() })
	return ctx, "http://" + ln.Addr().String() + "/"
}

// pollJS waits, without a timeout of its own (ctx bounds it), for expr to be truthy.
func pollJS(ctx context.Context, expr string, every time.Duration) error {
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(every), chromedp.WithPollingTimeout(0)))
	return err
}

// waitResults waits for the page's run to end and reads its final state, status line
// and results; it fails the test unless the run ended "done".
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
	results, err := chromedp.Run(ctx, chromedp.Evaluate[[]pageResult](`Array.from(document.querySelectorAll('.result')).map(c => ({name: c.dataset.name, score: Number(c.dataset.score), ms: Number(c.dataset.ms)}))`))
	if err != nil {
		t.Fatalf("chromium: %v", err)
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

// TestWebSampleInChromium serves the demo, runs its built-in sample in headless Chromium,
// checks a click is handled while a query is being scored, and compares the scores the
// page shows with the same engine run natively and with 'ideal score' on the same
// inputs (the sample written to PNG files, the demo backbone and head to safetensors).
func TestWebSampleInChromium(t *testing.T) {
	ctx, url := startWebAndChromium(t, 3*time.Minute)
	step := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
	}
	step(chromedp.Do(ctx, chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.ID("sample")), chromedp.Click(chromedp.ID("sample"))))
	// Wait until a query is being scored, then click the counter through the browser's
	// input pipeline: the page must handle it before the run ends.
	step(pollJS(ctx, `document.getElementById('status').textContent.startsWith('scoring query') || document.body.dataset.state !== 'scoring'`, 2*time.Millisecond))
	step(chromedp.Do(ctx, chromedp.Click(chromedp.ID("counter"))))
	clickedWhile, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.clickedWhile || ''`))
	step(err)
	results := waitResults(t, ctx)
	if !strings.HasPrefix(clickedWhile, "scoring query") {
		t.Errorf("the counter click was handled while the status read %q, not while a query was being scored", clickedWhile)
	}

	// The same inputs scored natively.
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
	cli := scoreSampleWithCLI(t)
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
// size and returns each sample query's image score from the JSON output, in order.
func scoreSampleWithCLI(t *testing.T) []float32 {
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
	smp := engine.Sample()
	args := []string{"--backbone", bb, "--head", hd, "--size", strconv.Itoa(engine.DemoSize)}
	for i, n := range smp.Normals {
		args = append(args, "--normal", write("normal"+strconv.Itoa(i)+".png", n.PNG))
	}
	args = append(args, "--abnormal", write("abnormal.png", smp.Abnormal.PNG), "--abnormal-mask", write("mask.png", smp.Mask.PNG))
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
	var res scoreJSON
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
