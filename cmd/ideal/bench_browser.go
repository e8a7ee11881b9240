package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ideal-fsad/ideal/internal/chromium"
	"github.com/ideal-fsad/ideal/kernels/kernelbench"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/wasm/site"
)

// browserBench is what 'ideal bench --browser' measures: the backbone forward of a
// seeded random ViT-S/14 at size×size in the engine's workers (the page bench.html of
// the embedded site, or of site when not nil), in headless Chromium, once per worker
// count, then on WebGPU when webgpu is set: reps timed runs (the engine's bench job
// runs one warm-up pass first).
type browserBench struct {
	workers  []int
	webgpu   bool // also time the engine on WebGPU (one worker)
	size     int
	reps     int
	timeout  time.Duration // per worker count: page load, engine start and every run
	site     fs.FS         // a folder holding static/; nil: site.Static
	exe      string        // the browser's executable; "" finds it (chromium.Path)
	progress func(string)  // when not nil, told what is going on
}

// browserReply is the JSON object bench.js writes when the engine's bench job ends.
type browserReply struct {
	State    string    `json:"state"` // "done" or "error"
	Error    string    `json:"error"`
	Warnings []string  `json:"warnings"`
	TeamErr  string    `json:"team_error"`
	MS       []float64 `json:"ms"`
	Workers  int       `json:"workers"`
	Backend  string    `json:"backend"`
	Isolated bool      `json:"isolated"` // the page's crossOriginIsolated
	Engine   struct {
		Backend  string `json:"backend"`
		SIMD     bool   `json:"simd"`
		Workers  int    `json:"workers"`
		Isolated bool   `json:"isolated"`
	} `json:"engine"`
}

// parseWorkerCounts parses --browser: a comma-separated list of distinct worker counts
// from 1 to 64, and "webgpu" (at most once) for the engine on WebGPU.
func parseWorkerCounts(list string) (counts []int, webgpu bool, err error) {
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "webgpu" {
			if webgpu {
				return nil, false, errors.New("webgpu given twice")
			}
			webgpu = true
			continue
		}
		k, err := strconv.Atoi(f)
		if err != nil || k < 1 || k > 64 {
			return nil, false, fmt.Errorf("worker count %q: want an integer from 1 to 64, or webgpu", f)
		}
		if slices.Contains(counts, k) {
			return nil, false, fmt.Errorf("worker count %d given twice", k)
		}
		counts = append(counts, k)
	}
	return counts, webgpu, nil
}

// measure serves the site on a loopback port, starts headless Chromium and times the
// backbone with each worker count in a fresh tab; one result row per count.
func (b browserBench) measure(ctx context.Context) ([]kernelbench.Result, error) {
	siteFS := b.site
	if siteFS == nil {
		siteFS = site.Static
	}
	base, stop, err := serveSite(siteFS)
	if err != nil {
		return nil, err
	}
	defer stop()
	exe := b.exe
	if exe == "" {
		if exe, err = chromium.Path(); err != nil {
			return nil, err
		}
	}
	var extra []chromedp.ExecAllocatorOption
	if b.webgpu {
		extra = chromium.WebGPU()
	}
	bctx, cancel, err := startChromium(ctx, exe, extra...)
	if err != nil {
		return nil, err
	}
	defer cancel()
	var rows []kernelbench.Result
	for _, k := range b.workers {
		r, err := b.measureOne(bctx, base, k, false)
		if err != nil {
			return nil, fmt.Errorf("browser, %d worker(s): %w", k, err)
		}
		rows = append(rows, r)
	}
	if b.webgpu {
		r, err := b.measureOne(bctx, base, 1, true)
		if err != nil {
			return nil, fmt.Errorf("browser, WebGPU: %w", err)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// serveSite serves siteFS's static/ (site.Handler: ErrNoEngine without ideal.wasm)
// on 127.0.0.1, on a free port; it returns the base URL and the function that stops it.
func serveSite(siteFS fs.FS) (string, func(), error) {
	if _, err := fs.Stat(siteFS, "static/bench.html"); err != nil {
		return "", nil, fmt.Errorf("the site has no bench.html (wasm/site/static/bench.html): %w", err)
	}
	h, err := site.Handler(siteFS)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := site.NewServer(h, site.DefaultLimits)
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/", func() { srv.Close() }, nil
}

// startChromium starts headless Chromium (exe) with a throw-away profile; the returned
// function stops it and removes the profile. extra are more flags.
func startChromium(ctx context.Context, exe string, extra ...chromedp.ExecAllocatorOption) (context.Context, func(), error) {
	dir, err := os.MkdirTemp("", "ideal-bench-chromium-")
	if err != nil {
		return nil, nil, err
	}
	actx, cancelA := chromedp.NewExecAllocator(ctx, chromium.Options(exe, dir, extra...)...)
	bctx, cancelB := chromedp.NewContext(actx)
	stop := func() { cancelB(); cancelA(); os.RemoveAll(dir) }
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		stop()
		return nil, nil, fmt.Errorf("starting %s: %w", exe, err)
	}
	return bctx, stop, nil
}

// measureOne opens bench.html with k workers (on WebGPU when gpu is set: the page
// then fails rather than time the CPU) in a new tab and makes its reply a row.
func (b browserBench) measureOne(bctx context.Context, base string, k int, gpu bool) (kernelbench.Result, error) {
	if b.progress != nil {
		on := fmt.Sprintf("%d worker(s)", k)
		if gpu {
			on = "WebGPU"
		}
		b.progress(fmt.Sprintf("chromium, %s, size %d, %d runs after a warm-up", on, b.size, b.reps))
	}
	tctx, cancel := chromedp.NewContext(bctx)
	defer cancel()
	tctx, cancelT := context.WithTimeout(tctx, b.timeout)
	defer cancelT()
	console := benchConsole(tctx)
	q := url.Values{"workers": {strconv.Itoa(k)}, "size": {strconv.Itoa(b.size)}, "runs": {strconv.Itoa(b.reps)}}
	if gpu {
		q.Set("gpu", "on")
	}
	text, err := runBenchPage(tctx, base+"bench.html?"+q.Encode())
	if err != nil {
		if errors.Is(tctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("no result within %v (--browser-timeout): is the engine (ideal.wasm, pool.js) built with "+
				"the 'bench' job ('make wasm', then rebuild ideal)?%s", b.timeout, console())
		}
		return kernelbench.Result{}, err
	}
	var rep browserReply
	if err := json.Unmarshal([]byte(text), &rep); err != nil {
		return kernelbench.Result{}, fmt.Errorf("bench.html wrote %q: %w", text, err)
	}
	return b.row(rep, k)
}

// runBenchPage navigates to u and waits for bench.html to end: its JSON result.
func runBenchPage(ctx context.Context, u string) (string, error) {
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		return "", err
	}
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.body && document.body.dataset.state !== 'running'`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(0)))
	if err != nil {
		return "", err
	}
	return chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('result').textContent`))
}

// benchConsole collects the tab's console messages; the function it returns gives the
// last few, one per line, for an error message.
func benchConsole(ctx context.Context) func() string {
	var (
		mu   sync.Mutex
		msgs []string
	)
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, m.String())
			mu.Unlock()
		}
	}()
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(msgs) == 0 {
			return " (the page logged nothing)"
		}
		return "\nthe page's console:\n  " + strings.Join(msgs[max(0, len(msgs)-10):], "\n  ")
	}
}

// row checks the page's reply for k workers and makes it a result row: the median of
// the runs, the ViT-S/14 FLOP over it, and a backend name "chromium/BACKEND[+simd]/Nw"
// (+simd when the engine says it uses SIMD and its name does not; N the workers the
// engine used; -fellback1 when they stopped sharing passes).
func (b browserBench) row(rep browserReply, k int) (kernelbench.Result, error) {
	if rep.State != "done" {
		hint := ""
		if strings.Contains(rep.Error, "is not a function") {
			hint = " (an engine built before the bench job? 'make wasm', then rebuild ideal)"
		}
		return kernelbench.Result{}, fmt.Errorf("the page reports: %s%s", rep.Error, hint)
	}
	if len(rep.MS) != b.reps {
		return kernelbench.Result{}, fmt.Errorf("the engine timed %d runs, want %d (%v)", len(rep.MS), b.reps, rep.MS)
	}
	timed := slices.Clone(rep.MS)
	slices.Sort(timed)
	ms := timed[len(timed)/2]
	if len(timed)%2 == 0 {
		ms = (ms + timed[len(timed)/2-1]) / 2
	}
	if !(ms > 0) {
		return kernelbench.Result{}, fmt.Errorf("the engine reports times %v ms", rep.MS)
	}
	backend := firstSet(rep.Backend, rep.Engine.Backend, "wasm")
	if rep.Engine.SIMD && !strings.Contains(backend, "simd") {
		backend += "+simd"
	}
	workers := firstSet(rep.Workers, rep.Engine.Workers, k)
	if b.progress != nil {
		b.progress(fmt.Sprintf("chromium: asked %d worker(s), engine %s with %d, isolated %v; ms %v",
			k, backend, workers, rep.Isolated, rep.MS))
		for _, w := range append(rep.Warnings, rep.TeamErr) {
			if w != "" {
				b.progress("chromium: warning: " + w)
			}
		}
	}
	name := fmt.Sprintf("chromium/%s/%dw", backend, workers)
	if rep.TeamErr != "" {
		name += "-fellback1" // the workers stopped sharing passes: the leader ran alone
	}
	return kernelbench.Result{Name: "backbone", Backend: name,
		MsMedian: ms, GFLOPs: vitsFLOPs(b.size) / ms / 1e6}, nil
}

// firstSet is the first of vs that is not the zero value (the last one otherwise).
func firstSet[T comparable](vs ...T) T {
	var zero T
	for _, v := range vs {
		if v != zero {
			return v
		}
	}
	return vs[len(vs)-1]
}

// vitsFLOPs is the FLOP count of a ViT-S/14 backbone forward at size×size.
func vitsFLOPs(size int) float64 {
	return dinov2.Config{Width: kernelbench.Width, Depth: kernelbench.Depth, Heads: kernelbench.Heads,
		Patch: kernelbench.Patch, PosGrid: 37}.FLOPs(size)
}
