package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ideal-fsad/ideal/internal/chromium"
	"github.com/ideal-fsad/ideal/wasm/site"
)

func TestBenchBrowserUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--browser", "0"}, {"--browser", "2,2"}, {"--browser", "x"}, {"--browser", "65"}, {"--browser", "1,"},
		{"--browser", "1", "--browser-timeout", "0s"}, {"--browser", "1", "--size", "50"},
		{"--browser", "1", "--reps", "0"}, {"--browser", "1", "--backend", "tpu"},
	} {
		if code := run(append([]string{"bench"}, args...)); code != 2 {
			t.Errorf("bench %q: exit status %d, want 2", args, code)
		}
	}
}

func TestBenchBrowserFlags(t *testing.T) {
	cfg, err := parseBenchFlags([]string{"--browser", " 2, 1", "--size", "56", "--reps", "2"})
	if err != nil {
		t.Fatal(err)
	}
	b := cfg.browser
	if cfg.backends != nil || len(b.workers) != 2 || b.workers[0] != 2 || b.workers[1] != 1 || b.size != 56 || b.reps != 2 || b.timeout != 10*time.Minute {
		t.Errorf("--browser alone: backends %q, browser %+v", cfg.backends, b)
	}
	cfg, err = parseBenchFlags([]string{"--browser", "1", "--backend", "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.backends) != 1 || cfg.backends[0] != "cpu" {
		t.Errorf("--browser with --backend cpu: backends %q", cfg.backends)
	}
	cfg, err = parseBenchFlags([]string{"--browser", "webgpu,2", "--size", "112"})
	if err != nil {
		t.Fatal(err)
	}
	if b := cfg.browser; !b.webgpu || len(b.workers) != 1 || b.workers[0] != 2 {
		t.Errorf("--browser webgpu,2: %+v", b)
	}
	for _, bad := range []string{"webgpu,webgpu", "gpu", "webgpu,0"} {
		if _, err := parseBenchFlags([]string{"--browser", bad}); err == nil || !strings.Contains(err.Error(), "--browser") {
			t.Errorf("--browser %s: %v, want a usage error naming --browser", bad, err)
		}
	}
	cfg, err = parseBenchFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.backends) != 2 || cfg.browser.workers != nil || cfg.browser.webgpu {
		t.Errorf("no flags: backends %q, browser %v", cfg.backends, cfg.browser.workers)
	}
}

func TestBenchBrowserRow(t *testing.T) {
	b := browserBench{size: 448, reps: 3}
	var rep browserReply
	rep.State, rep.MS, rep.Backend, rep.Workers = "done", []float64{30, 10, 20}, "cpu", 2
	rep.Engine.SIMD = true
	r, err := b.row(rep, 2)
	if err != nil {
		t.Fatal(err)
	}
	// The median of 30, 10, 20 is 20.
	if r.Name != "backbone" || r.Backend != "chromium/cpu+simd/2w" || r.MsMedian != 20 || r.GFLOPs <= 0 {
		t.Errorf("row %+v", r)
	}
	rep.TeamErr = "lost a worker"
	if r, err := b.row(rep, 2); err != nil || r.Backend != "chromium/cpu+simd/2w-fellback1" {
		t.Errorf("a team error: row %+v, err %v", r, err)
	}
	rep.MS = []float64{1, 2, 3, 4}
	if _, err := b.row(rep, 2); err == nil || !strings.Contains(err.Error(), "timed 4 runs, want 3") {
		t.Errorf("4 runs for 3 reps: err %v", err)
	}
	rep.State, rep.Error = "error", "boom"
	if _, err := b.row(rep, 2); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("an error reply: err %v", err)
	}
}

// stubSite is the embedded site's bench.html and bench.js with pool.js replaced by
// poolJS and placeholder engine files (the stub never loads them).
func stubSite(t *testing.T, poolJS string) fs.FS {
	t.Helper()
	m := fstest.MapFS{
		"static/pool.js":      {Data: []byte(poolJS)},
		"static/ideal.wasm":   {Data: []byte("stub")},
		"static/wasm_exec.js": {Data: []byte("// stub")},
	}
	for _, name := range []string{"bench.html", "bench.js"} {
		data, err := fs.ReadFile(site.Static, "static/"+name)
		if err != nil {
			t.Fatal(err)
		}
		m["static/"+name] = &fstest.MapFile{Data: data}
	}
	return m
}

func TestBenchBrowserNoEngine(t *testing.T) {
	m := stubSite(t, "").(fstest.MapFS)
	delete(m, "static/ideal.wasm")
	b := browserBench{workers: []int{1}, size: 56, reps: 1, timeout: time.Minute, site: m, exe: "/nonexistent"}
	if _, err := b.measure(context.Background()); !errors.Is(err, site.ErrNoEngine) {
		t.Errorf("a site without ideal.wasm: err %v, want site.ErrNoEngine", err)
	}
}

// stubPool answers the bench job at once: the engine message, then runs times of
// 10·workers + i ms (run i = 1, 2, ...).
const stubPool = `class EnginePool {
  constructor(opts) { this.workers = opts.workers || 1; this.onmessage = null; }
  postMessage(job) {
    const send = (d) => setTimeout(() => this.onmessage({data: d}), 0);
    const r = job.random || {};
    if (job.type !== 'bench' || r.width !== 384 || r.depth !== 12 || r.heads !== 6 || r.size !== 56 || job.size !== 56) {
      send({type: 'error', text: 'unexpected job ' + JSON.stringify(job)});
      return;
    }
    send({type: 'engine', backend: 'stub', simd: true, workers: this.workers, isolated: false});
    const ms = Array.from({length: job.runs}, (_, i) => 10 * this.workers + i + 1);
    send({type: 'bench', ms, workers: this.workers, backend: 'stub'});
  }
}`

func chromiumOrSkip(t *testing.T) string {
	t.Helper()
	exe, err := chromium.Path()
	if err != nil {
		t.Skip(err)
	}
	return exe
}

// TestBenchBrowserStub drives bench.html in headless Chromium against stub pools:
// the rows come from the replies, an error reply and a silent pool are errors.
func TestBenchBrowserStub(t *testing.T) {
	exe := chromiumOrSkip(t)
	b := browserBench{workers: []int{2, 1}, size: 56, reps: 3, timeout: time.Minute, site: stubSite(t, stubPool), exe: exe}
	rows, err := b.measure(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 2 workers: runs 21, 22, 23 → median 22; 1 worker: 11, 12, 13 → 12.
	want := []struct {
		backend string
		ms      float64
	}{{"chromium/stub+simd/2w", 22}, {"chromium/stub+simd/1w", 12}}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i, w := range want {
		if rows[i].Backend != w.backend || rows[i].MsMedian != w.ms || rows[i].Name != "backbone" {
			t.Errorf("row %d: %+v, want backend %s, %g ms", i, rows[i], w.backend, w.ms)
		}
	}
	b.workers = []int{1}
	b.site = stubSite(t, `class EnginePool { postMessage() { setTimeout(() => this.onmessage({data: {type: 'error', text: 'no bench here'}}), 0); } }`)
	if _, err := b.measure(context.Background()); err == nil || !strings.Contains(err.Error(), "no bench here") {
		t.Errorf("an error reply: err %v", err)
	}
	b.timeout = 5 * time.Second
	// It logs again and again: the console is watched from when the tab exists, which on
	// a loaded machine can be after the page's first lines.
	b.site = stubSite(t, `class EnginePool { postMessage() { setInterval(() => console.log('silent pool'), 200); } }`)
	_, err = b.measure(context.Background())
	if err == nil || !strings.Contains(err.Error(), "'bench' job") || !strings.Contains(err.Error(), "silent pool") {
		t.Errorf("a pool that never answers: err %v", err)
	}
}

// TestBenchBrowserEndToEnd times the real engine's bench job at a small size in
// headless Chromium; it runs only with IDEAL_WEB_BENCH=1 (it needs the engine's bench
// job) and asserts no times, only that there are some. The site is the embedded one
// ('make wasm' first), or the folder holding static/ named by IDEAL_WEB_BENCH_SITE.
func TestBenchBrowserEndToEnd(t *testing.T) {
	if os.Getenv("IDEAL_WEB_BENCH") != "1" {
		t.Skip("set IDEAL_WEB_BENCH=1 to time the web engine in headless Chromium")
	}
	exe := chromiumOrSkip(t)
	var siteFS fs.FS = site.Static
	if dir := os.Getenv("IDEAL_WEB_BENCH_SITE"); dir != "" {
		siteFS = os.DirFS(dir)
	} else if _, err := site.Handler(site.Static); errors.Is(err, site.ErrNoEngine) {
		if siteFS, err = siteWithEngine(); err != nil {
			t.Fatal(err)
		}
	}
	b := browserBench{workers: []int{2, 1}, size: 56, reps: 1, timeout: 5 * time.Minute, site: siteFS, exe: exe,
		progress: func(s string) { t.Log(s) }}
	rows, err := b.measure(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		t.Logf("%s %s: %.1f ms, %.1f GFLOP/s", r.Name, r.Backend, r.MsMedian, r.GFLOPs)
		if !(r.MsMedian > 0) || !strings.HasPrefix(r.Backend, "chromium/") {
			t.Errorf("row %+v", r)
		}
	}
}
