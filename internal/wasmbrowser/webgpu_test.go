package wasmbrowser

import (
	"context"
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
