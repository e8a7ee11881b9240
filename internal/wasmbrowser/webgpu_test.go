package wasmbrowser

import (
	"context"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// webgpuFlags give the worker a WebGPU adapter: SwiftShader's, on a machine without a
// GPU. Without them headless Chromium on Linux has no navigator.gpu adapter.
var webgpuFlags = []string{"--enable-unsafe-webgpu"}

// The WebGPU backend's parity suite (kerneltest.RunAll, small cases) and its on-GPU
// checks in Chromium, on SwiftShader's adapter; -webgpu.require makes a missing
// adapter fail instead of skip.
func TestWebGPUParityInChromium(t *testing.T) {
	requireChromium(t)
	wasm, glue := build(t, "github.com/ideal-fsad/ideal/webgpu")
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	start := time.Now()
	out, code, err := RunTestBinary(ctx, wasm, glue, []string{"-test.v", "-webgpu.require"}, webgpuFlags...)
	t.Logf("ran the webgpu tests in Chromium in %v: exit code %d", time.Since(start).Round(time.Millisecond), code)
	if err != nil {
		t.Fatalf("%v\noutput:\n%s", err, out)
	}
	if code != 0 || !regexp.MustCompile(`(?m)^PASS$`).MatchString(out) {
		t.Fatalf("webgpu in Chromium: exit code %d, want 0 and PASS; output:\n%s", code, out)
	}
	for _, name := range []string{"TestParity", "TestOpsOnGPU", "TestFallbackRecorded", "TestDeviceErrorSurfaces"} {
		if !strings.Contains(out, "--- PASS: "+name+" ") {
			t.Errorf("%s did not run and pass; output:\n%s", name, out)
		}
	}
	if !strings.Contains(out, "webgpu/") {
		t.Errorf("the log does not name the webgpu adapter; output:\n%s", out)
	}
	if testing.Verbose() {
		t.Logf("in Chromium:\n%s", webgpuSummary(out))
	}
}

// webgpuSummary keeps the verdicts, the backend's own log lines and the worst
// normalised MSE of each op group from a verbose run's output.
var nmseLine = regexp.MustCompile(`^\s*kerneltest\.go:\d+: (\w+)/[^:]*: nmse (\S+) max abs (\S+)`)

func webgpuSummary(out string) string {
	type worst struct{ nmse, maxAbs float64 }
	ops := map[string]*worst{}
	var lines []string
	for _, line := range strings.Split(out, "\n") {
		if m := nmseLine.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseFloat(m[2], 64)
			a, _ := strconv.ParseFloat(m[3], 64)
			w := ops[m[1]]
			if w == nil {
				w = &worst{}
				ops[m[1]] = w
			}
			w.nmse, w.maxAbs = max(w.nmse, n), max(w.maxAbs, a)
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(line), "--- ") && strings.Count(line, "/") == 0 ||
			strings.Contains(line, "webgpu_test.go") {
			lines = append(lines, line)
		}
	}
	var names []string
	for op := range ops {
		names = append(names, op)
	}
	slices.Sort(names)
	for _, op := range names {
		lines = append(lines, fmt.Sprintf("worst %s: nmse %.3g, max abs %.3g", op, ops[op].nmse, ops[op].maxAbs))
	}
	return strings.Join(lines, "\n")
}

var benchPattern = flag.String("wasmbrowser.bench", "", "run the webgpu package's benchmarks matching this pattern in Chromium (TestWebGPUBenchInChromium; skipped when empty)")

// TestWebGPUBenchInChromium runs the WebGPU kernel benchmarks (webgpu.BenchmarkKernels)
// in Chromium when -wasmbrowser.bench is given, and prints their lines; it is a tool,
// not a check (benchmarks are never tests), so it is skipped otherwise.
func TestWebGPUBenchInChromium(t *testing.T) {
	if *benchPattern == "" {
		t.Skip("no -wasmbrowser.bench pattern")
	}
	requireChromium(t)
	wasm, glue := build(t, "github.com/ideal-fsad/ideal/webgpu")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	out, code, err := RunTestBinary(ctx, wasm, glue, []string{"-test.run=^$", "-test.bench=" + *benchPattern,
		"-test.benchtime=3x", "-webgpu.require"}, webgpuFlags...)
	if err != nil || code != 0 {
		t.Fatalf("exit code %d, %v; output:\n%s", code, err, out)
	}
	t.Logf("WebGPU benchmarks in Chromium:\n%s", out)
}

// fixturePackages are the packages whose TestFixtureWebGPU checks the official
// fixtures (testdata/fixtures, read through the browser's file system) on the
// WebGPU backend, with the CPU's bounds.
var fixturePackages = []string{"github.com/ideal-fsad/ideal/model/dinov2", "github.com/ideal-fsad/ideal/model/head"}

// The DINOv2 and IDEAL-head fixtures on the WebGPU backend in Chromium, on
// SwiftShader's adapter, reading the fixtures from the module's testdata.
func TestWebGPUFixturesInChromium(t *testing.T) {
	requireChromium(t)
	for _, pkg := range fixturePackages {
		t.Run(pkg[strings.LastIndex(pkg, "/")+1:], func(t *testing.T) {
			wasm, glue := build(t, pkg)
			ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
			defer cancel()
			start := time.Now()
			args := []string{"-test.run=WebGPU", "-webgpu.require", "-test.v"}
			out, code, err := RunTestBinaryWith(ctx, wasm, glue, args, Options{Flags: webgpuFlags, Dir: packageDir(t, pkg)})
			t.Logf("ran %v in Chromium in %v: exit code %d", args, time.Since(start).Round(time.Millisecond), code)
			if err != nil {
				t.Fatalf("%v\noutput:\n%s", err, out)
			}
			if code != 0 || !regexp.MustCompile(`(?m)^PASS$`).MatchString(out) || !strings.Contains(out, "--- PASS: TestFixtureWebGPU ") {
				t.Fatalf("exit code %d, want 0, PASS and TestFixtureWebGPU passing; output:\n%s", code, out)
			}
			if testing.Verbose() {
				t.Logf("in Chromium:\n%s", out)
			}
		})
	}
}

// packageDir returns the directory of the package pkg.
func packageDir(t *testing.T, pkg string) string {
	t.Helper()
	dir, err := goOutput("", false, "list", "-f", "{{.Dir}}", pkg)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
