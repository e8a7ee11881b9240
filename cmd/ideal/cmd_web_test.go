package main

import (
	"context"
	"math"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ideal-fsad/ideal/wasm/engine"
)

const chromiumPath = "/usr/bin/chromium"

type pageResult struct {
	Name  string  `json:"name"`
	Score float64 `json:"score"`
	MS    float64 `json:"ms"`
}

// TestWebSampleInChromium serves the demo, runs its built-in sample in headless Chromium,
// checks a click is handled while a query is being scored, and compares the scores the
// page shows with the same engine run natively.
func TestWebSampleInChromium(t *testing.T) {
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
	defer srv.Close()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelT()

	poll := func(expr string, every time.Duration) error {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(every)))
		return err
	}
	step := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("chromium: %v", err)
		}
	}
	step(chromedp.Do(ctx, chromedp.Navigate("http://"+ln.Addr().String()+"/"),
		chromedp.WaitVisible(chromedp.ID("sample")), chromedp.Click(chromedp.ID("sample"))))
	// Wait until a query is being scored, then click the counter through the browser's
	// input pipeline: the page must handle it before the run ends.
	step(poll(`document.getElementById('status').textContent.startsWith('scoring query') || document.body.dataset.state !== 'scoring'`, 2*time.Millisecond))
	step(chromedp.Do(ctx, chromedp.Click(chromedp.ID("counter"))))
	clickedWhile, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.clickedWhile || ''`))
	step(err)
	step(poll(`document.body.dataset.state !== 'scoring'`, 20*time.Millisecond))
	state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.state`))
	step(err)
	status, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('status').textContent`))
	step(err)
	results, err := chromedp.Run(ctx, chromedp.Evaluate[[]pageResult](`Array.from(document.querySelectorAll('.result')).map(c => ({name: c.dataset.name, score: Number(c.dataset.score), ms: Number(c.dataset.ms)}))`))
	step(err)
	if state != "done" {
		t.Fatalf("page ended in state %q: %s", state, status)
	}
	if !strings.HasPrefix(clickedWhile, "scoring query") {
		t.Errorf("the counter click was handled while the status read %q, not while a query was being scored", clickedWhile)
	}

	// The same inputs scored natively.
	s, err := engine.NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	smp := engine.Sample()
	var normals [][]byte
	for _, n := range smp.Normals {
		normals = append(normals, n.PNG)
	}
	if _, err := s.SetReferences(normals, [][]byte{smp.Abnormal.PNG}, [][]byte{smp.Mask.PNG}); err != nil {
		t.Fatal(err)
	}
	if len(results) != len(smp.Queries) {
		t.Fatalf("page shows %d results, want %d", len(results), len(smp.Queries))
	}
	for i, q := range smp.Queries {
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
		t.Logf("%s: score page %.6f native %.6f; time per query Chromium %.0f ms, native %.0f ms",
			q.Name, got.Score, r.ImageScore, got.MS, float64(native.Microseconds())/1000)
	}
}

func TestWebBadFlags(t *testing.T) {
	if err := runWeb([]string{"extra"}); err == nil {
		t.Error("unexpected argument: no error")
	}
	if err := runWeb([]string{"--addr", "not-an-address"}); err == nil {
		t.Error("bad address: no error")
	}
}
