package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/gpu"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kernelbench"
	"github.com/ideal-fsad/ideal/model/modelbench"
)

func init() {
	register("bench", "time the kernels and the model at ViT-S/14 shapes on each backend (and, with --browser, the web engine in headless Chromium)", runBench)
}

const benchUsage = "[--backend cpu,gpu] [--browser 2,1] [--size 448] [--reps N] [--json FILE]"

// benchConfig is a parsed 'ideal bench' command line.
type benchConfig struct {
	backends []string // nil: no native backend (--browser without --backend)
	browser  browserBench
	size     int
	reps     int
	jsonPath string
}

// runBench times the shared case set (kernelbench.Cases, the kernels, then
// modelbench.Stages: backbone, head, query) on each backend with kernelbench.MeasureAll,
// each output compared with the CPU backend's on the same inputs; with --browser, the
// backbone in headless Chromium too (bench_browser.go), as rows of the same table.
func runBench(args []string) error {
	cfg, err := parseBenchFlags(args)
	if err != nil {
		return err
	}
	var entries []kernelbench.Result
	if len(cfg.backends) > 0 {
		if entries, err = measureNative(cfg); err != nil {
			return err
		}
	}
	if len(cfg.browser.workers) > 0 || cfg.browser.webgpu {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		rows, err := cfg.browser.measure(ctx)
		if err != nil {
			return err
		}
		entries = append(entries, rows...)
	}
	kernelbench.WriteTable(os.Stdout, entries)
	if cfg.jsonPath == "" {
		return nil
	}
	return kernelbench.WriteReport(cfg.jsonPath, kernelbench.Report{Size: cfg.size, Reps: cfg.reps, Entries: entries})
}

// parseBenchFlags parses and checks the command line (usage errors for bad values).
func parseBenchFlags(args []string) (benchConfig, error) {
	fs := newFlagSet("bench", benchUsage)
	backendList := fs.String("backend", "cpu,gpu", "comma-separated backends to time: cpu, gpu, reference (gpu is skipped, with the reason, when no OpenGL 4.3 context can be had)")
	browser := fs.String("browser", "", "also time the backbone in headless Chromium (the embedded web engine, bench.html) with each of these comma-separated worker `counts` (webgpu: one worker on WebGPU; Chromium then gets --enable-unsafe-webgpu, see README for a real GPU); then the native backends are timed only when --backend is given")
	timeout := fs.Duration("browser-timeout", 10*time.Minute, "time allowed to each --browser worker count (engine start, warm-up and timed runs)")
	size := fs.Int("size", 448, "input side S in pixels, a positive multiple of 14 (tokens (S/14)²+1, head grid S/14)")
	reps := fs.Int("reps", 5, "timed runs per case after one warm-up run; the median is reported")
	jsonPath := fs.String("json", "", "also write the results as JSON to this file")
	if err := parseFlags(fs, args); err != nil {
		return benchConfig{}, err
	}
	cfg := benchConfig{size: *size, reps: *reps, jsonPath: *jsonPath}
	switch {
	case fs.NArg() > 0:
		return cfg, usageErrorf("unexpected arguments %q", fs.Args())
	case *size < kernelbench.Patch || *size%kernelbench.Patch != 0:
		return cfg, usageErrorf("--size %d is not a positive multiple of %d", *size, kernelbench.Patch)
	case *reps < 1:
		return cfg, usageErrorf("--reps %d: want at least 1", *reps)
	case *timeout <= 0:
		return cfg, usageErrorf("--browser-timeout %v: want a positive duration", *timeout)
	}
	if *browser != "" {
		counts, gpu, err := parseWorkerCounts(*browser)
		if err != nil {
			return cfg, usageErrorf("--browser: %v", err)
		}
		cfg.browser = browserBench{workers: counts, webgpu: gpu, size: *size, reps: *reps, timeout: *timeout,
			progress: func(s string) { fmt.Fprintf(os.Stderr, "bench: %s\n", s) }}
	}
	if *browser == "" || flagGiven(fs, "backend") {
		names, err := kernelbench.ParseBackends(*backendList)
		if err != nil {
			return cfg, usageErrorf("--backend: %v", err)
		}
		cfg.backends = names
	}
	return cfg, nil
}

// flagGiven reports whether the flag name was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// measureNative times the kernels and the stages on cfg's backends.
func measureNative(cfg benchConfig) ([]kernelbench.Result, error) {
	stages, err := modelbench.Stages(cfg.size)
	if err != nil {
		return nil, err
	}
	return kernelbench.MeasureAll(cfg.backends, append(kernelbench.Cases(cfg.size), stages...), cfg.reps, kernelbench.Hooks{
		Open:     openBenchBackend,
		Skipped:  func(n string, err error) { fmt.Fprintf(os.Stderr, "%s unavailable: %v; skipping it\n", n, err) },
		Progress: func(be, c string) { fmt.Fprintf(os.Stderr, "bench: %s %s\n", be, c) },
	})
}

func openBenchBackend(name string) (kernels.Backend, error) {
	switch name {
	case "gpu":
		return gpu.New()
	case "reference":
		return kernels.NewReference(), nil
	}
	return cpu.New(), nil
}
