package wasmbrowser

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runTimeout bounds one run in the browser: generous, for a loaded shared machine.
const runTimeout = 5 * time.Minute

// requireChromium skips the test when there is no Chromium, unless $CI or
// $IDEAL_REQUIRE_BROWSER is set: then a missing browser fails it.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := ChromiumPath(); err != nil {
		skipOrFail(t, err)
	}
}

// requireToolchain does the same when the wasm toolchain is neither cached nor
// downloadable (an offline machine that never fetched it).
func requireToolchain(t *testing.T) {
	t.Helper()
	if _, err := toolchainGOROOT(""); err != nil {
		skipOrFail(t, err)
	}
}

func skipOrFail(t *testing.T, err error) {
	t.Helper()
	if os.Getenv("CI") != "" || os.Getenv("IDEAL_REQUIRE_BROWSER") != "" {
		t.Fatalf("%v (CI or IDEAL_REQUIRE_BROWSER is set: the browser tests must run)", err)
	}
	t.Skipf("%v: skipping the browser test", err)
}

// build builds pkg's test binary for the browser and removes it when the test ends.
func build(t *testing.T, pkg string) (wasm, glue string) {
	t.Helper()
	requireToolchain(t)
	start := time.Now()
	wasm, glue, err := BuildSIMDTest(pkg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(wasm)) })
	t.Logf("built %s with %s in %v", pkg, Toolchain(), time.Since(start).Round(time.Millisecond))
	return wasm, glue
}

// run runs a test binary in Chromium, logging its output when the test fails.
func run(t *testing.T, wasm, glue string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	start := time.Now()
	out, code, err := RunTestBinary(ctx, wasm, glue, args)
	t.Logf("ran %v in Chromium in %v: exit code %d", args, time.Since(start).Round(time.Millisecond), code)
	if err != nil {
		t.Fatalf("%v\noutput:\n%s", err, out)
	}
	return out, code
}

// runPassing runs pkg's tests in Chromium with args and fails unless they pass.
func runPassing(t *testing.T, pkg string, args ...string) string {
	t.Helper()
	requireChromium(t)
	wasm, glue := build(t, pkg)
	out, code := run(t, wasm, glue, args...)
	if code != 0 || !regexp.MustCompile(`(?m)^PASS$`).MatchString(out) {
		t.Fatalf("%s in Chromium: exit code %d, want 0 and PASS; output:\n%s", pkg, code, out)
	}
	return out
}

// The CPU kernels' parity suite on Chromium's engine, on the SIMD128 path.
func TestCPUParityInChromium(t *testing.T) {
	out := runPassing(t, "github.com/ideal-fsad/ideal/cpu", "-test.short", "-test.v")
	if !strings.Contains(out, "cpu/wasm-simd128") {
		t.Fatalf("the log does not name the path cpu/wasm-simd128: the SIMD kernels did not run; output:\n%s", out)
	}
	if !strings.Contains(out, "--- PASS: TestParity ") {
		t.Fatalf("TestParity did not pass; output:\n%s", out)
	}
	if testing.Verbose() { // the path and the verdicts, not every subtest
		var summary []string
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "--- ") || strings.Contains(line, "cpu/wasm-simd128") {
				summary = append(summary, line)
			}
		}
		t.Logf("in Chromium:\n%s", strings.Join(summary, "\n"))
	}
}

// dinov2BrowserTests are the dinov2 tests that need no file system: the others read
// the dinov2-tiny fixture in testdata (TestFixture*, TestHubNames, TestBadWeights,
// TestBadInput, TestWorkspaceReuse), write to t.TempDir (TestReadFeaturesFile), or
// skip without the official checkpoints (TestOfficialCheckpoints); the browser's
// test binary has no file system. TestFixtureGPU is not built for js.
const dinov2BrowserTests = `^(TestTeam|TestInferShapes$|TestRegistersAgainstOracle$|TestFLOPs$)`

// The DINOv2 forward on the CPU backend in Chromium: the team split (goroutines
// standing in for the page's workers) against the solo pass, bit for bit, and the
// model against a float64 oracle.
func TestDinov2TeamInChromium(t *testing.T) {
	out := runPassing(t, "github.com/ideal-fsad/ideal/model/dinov2", "-test.short", "-test.v", "-test.run="+dinov2BrowserTests)
	for _, name := range []string{"TestTeamForwardEqualsSolo", "TestTeamFailure", "TestRegistersAgainstOracle"} {
		if !strings.Contains(out, "--- PASS: "+name+" ") {
			t.Errorf("%s did not run and pass; output:\n%s", name, out)
		}
	}
}

// failingModule is a module whose tests pass, fail, panic, hang or probe the file
// system, one at a time as -test.run selects.
var failingModule = map[string]string{
	"go.mod": "module example.com/wasmbrowserprobe\n\ngo 1.26\n",
	"probe_test.go": `package probe

import (
	"os"
	"testing"
	"time"
)

func TestPasses(t *testing.T) { t.Log("passing test ran: héllo ✓") }

func TestFails(t *testing.T) { t.Fatal("planted failure") }

func TestPanics(t *testing.T) { panic("planted panic") }

func TestHangs(t *testing.T) {
	t.Log("hanging")
	time.Sleep(time.Hour)
}

func TestNoFileSystem(t *testing.T) {
	if _, err := os.ReadFile("probe_test.go"); err == nil {
		t.Fatal("the browser's test binary can read files")
	} else {
		t.Logf("no file system: %v", err)
	}
}
`,
}

// The harness reports what the binary did: arguments reach it, passing exits 0,
// a failing test exits 1, a panic 2, and a hang ends with the context's error.
func TestHarnessReportsFailures(t *testing.T) {
	requireChromium(t)
	dir := t.TempDir()
	for name, src := range failingModule {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wasm, glue := build(t, dir)

	out, code := run(t, wasm, glue, "-test.v", "-test.run=^(TestPasses|TestNoFileSystem)$")
	if code != 0 || !strings.Contains(out, "passing test ran: héllo ✓") || !strings.Contains(out, "--- PASS: TestNoFileSystem") {
		t.Errorf("passing tests: exit code %d, want 0 with their logs; output:\n%s", code, out)
	}

	out, code = run(t, wasm, glue, "-test.run=^TestFails$")
	if code != 1 || !strings.Contains(out, "planted failure") || !strings.Contains(out, "FAIL") {
		t.Errorf("failing test: exit code %d, want 1 with the failure; output:\n%s", code, out)
	}

	out, code = run(t, wasm, glue, "-test.run=^TestPanics$")
	if code != 2 || !strings.Contains(out, "panic: planted panic") {
		t.Errorf("panicking test: exit code %d, want 2 with the panic; output:\n%s", code, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, code, err := RunTestBinary(ctx, wasm, glue, []string{"-test.v", "-test.run=^TestHangs$"})
	if !errors.Is(err, context.DeadlineExceeded) || code != -1 {
		t.Errorf("hanging test: exit code %d, error %v; want -1 and the context's deadline; output:\n%s", code, err, out)
	}
}

// A module that does not compile or instantiate is a page error, not an exit code.
func TestPageError(t *testing.T) {
	requireChromium(t)
	glue := filepath.Join(t.TempDir(), "wasm_exec.js")
	wasm := filepath.Join(t.TempDir(), "test.wasm")
	if err := os.WriteFile(glue, []byte(`globalThis.fs = {}; globalThis.Go = class { constructor() { this.importObject = {}; } };`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wasm, []byte("not WebAssembly"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	_, code, err := RunTestBinary(ctx, wasm, glue, nil)
	if !errors.Is(err, ErrPage) || !strings.Contains(err.Error(), "CompileError") || code != -1 {
		t.Fatalf("exit code %d, error %v; want -1 and ErrPage with a CompileError", code, err)
	}
	t.Log(err)
}

// A package that does not compile is a build error with the compiler's message.
func TestBuildError(t *testing.T) {
	requireToolchain(t)
	dir := t.TempDir()
	for name, src := range map[string]string{
		"go.mod":         "module example.com/broken\n\ngo 1.26\n",
		"broken_test.go": "package broken\n\nimport \"testing\"\n\nfunc TestX(t *testing.T) { undefinedThing() }\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wasm, glue, err := BuildSIMDTest(dir)
	if !errors.Is(err, ErrBuild) || !strings.Contains(err.Error(), "undefinedThing") || wasm != "" || glue != "" {
		t.Fatalf("BuildSIMDTest = %q, %q, %v; want ErrBuild naming undefinedThing", wasm, glue, err)
	}
}
