package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/gpu"
	"github.com/ideal-fsad/ideal/kernels/kernelbench"
)

// benchNames are the cases at --size 56: the shared kernel cases, then the stages.
func benchNames() []string {
	var names []string
	for _, c := range kernelbench.Cases(56) {
		names = append(names, c.Name)
	}
	return append(names, "backbone", "head", "query")
}

func TestBenchNames(t *testing.T) {
	names := benchNames()
	for _, want := range []string{"MatMul/qkv_17x384x1152", "Attention/cross_45x16_c384_h8", "NVE/16_nb16_k12_r4", "Block/vits14_56", "query"} {
		if !slices.Contains(names, want) {
			t.Errorf("no case %q in %q", want, names)
		}
	}
}

// runBenchJSON runs ideal bench at a tiny size with the given backends and returns
// the JSON report.
func runBenchJSON(t *testing.T, backends string) kernelbench.Report {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bench.json")
	if code := run([]string{"bench", "--backend", backends, "--size", "56", "--reps", "1", "--json", out}); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep kernelbench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Size != 56 || rep.Reps != 1 {
		t.Errorf("size %d reps %d, want 56 and 1", rep.Size, rep.Reps)
	}
	return rep
}

// checkEntries checks that the entries of one backend cover every case with a time,
// a FLOP rate and an error against the CPU of at most tol.
func checkEntries(t *testing.T, entries []kernelbench.Result, prefix string, tol float64) {
	t.Helper()
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Backend, prefix) {
			continue
		}
		names = append(names, e.Name)
		if e.MsMedian <= 0 || e.GFLOPs <= 0 {
			t.Errorf("%s on %s: ms %g, GFLOP/s %g, want both > 0", e.Name, e.Backend, e.MsMedian, e.GFLOPs)
		}
		if !(e.MaxAbsErr <= tol) {
			t.Errorf("%s on %s: max abs error %g against the CPU > %g", e.Name, e.Backend, e.MaxAbsErr, tol)
		}
	}
	if want := benchNames(); !slices.Equal(names, want) {
		t.Errorf("%s entries %q, want %q", prefix, names, want)
	}
}

func TestBenchCPU(t *testing.T) {
	rep := runBenchJSON(t, "cpu")
	checkEntries(t, rep.Entries, "cpu", 0)
	if len(rep.Entries) != len(benchNames()) {
		t.Errorf("%d entries, want %d", len(rep.Entries), len(benchNames()))
	}
}

// The reference backend is compared with the CPU backend's results on the same
// inputs: small, nonzero errors show that both ran the same work.
func TestBenchReferenceAgainstCPU(t *testing.T) {
	rep := runBenchJSON(t, "reference")
	checkEntries(t, rep.Entries, "reference", 1e-4)
	var nonzero bool
	for _, e := range rep.Entries {
		nonzero = nonzero || e.MaxAbsErr > 0
	}
	if !nonzero {
		t.Error("every error against the CPU is exactly 0: was the reference compared with itself?")
	}
}

func TestBenchGPU(t *testing.T) {
	be, err := gpu.New()
	if err != nil {
		if os.Getenv("IDEAL_REQUIRE_GPU") == "1" || !errors.Is(err, gpu.ErrUnavailable) {
			t.Fatalf("gpu.New: %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	if err := be.Close(); err != nil {
		t.Fatal(err)
	}
	rep := runBenchJSON(t, "cpu,gpu")
	checkEntries(t, rep.Entries, "cpu", 0)
	checkEntries(t, rep.Entries, "gpu", 1e-4)
}

func TestBenchUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--size", "50"}, {"--size", "0"}, {"--reps", "0"}, {"--backend", "cpu,tpu"},
		{"--backend", "cpu,cpu"}, {"extra"},
	} {
		if code := run(append([]string{"bench"}, args...)); code != 2 {
			t.Errorf("bench %q: exit status %d, want 2", args, code)
		}
	}
}

// Without a display, --backend gpu falls back to the CPU backend (and says so).
func TestOpenBackendGPUFallback(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	b, err := openBackend("gpu")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.HasPrefix(b.Name(), "cpu") {
		t.Errorf("backend %q, want the CPU fallback", b.Name())
	}
}
