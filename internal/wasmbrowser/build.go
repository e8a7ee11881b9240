package wasmbrowser

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// DefaultToolchain is the Go toolchain that [BuildSIMDTest] builds with unless
// $IDEAL_WASM_TOOLCHAIN names another: the first with simd/archsimd for wasm.
const DefaultToolchain = "go1.27.3"

// ErrBuild is wrapped by the error of [BuildSIMDTest] when the go command fails.
var ErrBuild = errors.New("wasmbrowser: build failed")

// Toolchain returns the toolchain [BuildSIMDTest] uses: $IDEAL_WASM_TOOLCHAIN, or
// [DefaultToolchain].
func Toolchain() string {
	if t := os.Getenv("IDEAL_WASM_TOOLCHAIN"); t != "" {
		return t
	}
	return DefaultToolchain
}

// goEnv returns the environment for the go command: this process's, with the
// toolchain, the experiment and the target set, and without GOROOT and GOFLAGS,
// which belong to the toolchain and the build running this process (go test sets
// GOROOT for its test binaries).
func goEnv(wasm bool) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOROOT", "GOFLAGS", "GOTOOLCHAIN", "GOEXPERIMENT", "GOOS", "GOARCH", "GOWASM":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "GOTOOLCHAIN="+Toolchain())
	if wasm {
		env = append(env, "GOEXPERIMENT=simd", "GOOS=js", "GOARCH=wasm")
	}
	return env
}

// BuildSIMDTest builds the test binary of one package for the browser, with
// GOTOOLCHAIN=[Toolchain]() GOEXPERIMENT=simd GOOS=js GOARCH=wasm, into a new
// temporary directory, and returns its path and that of the toolchain's
// wasm_exec.js, the glue that must go with it (see [RunTestBinary]). The caller
// removes filepath.Dir(wasmPath) when done.
//
// pkg is an import path, resolved in the module of the current directory, or a
// directory: absolute, or relative when it starts with ./ or ../, which is built
// from inside, in its own module (so a directory with its own go.mod works). The
// toolchain must be cached or downloadable. The error wraps [ErrBuild] and holds
// the go command's output when the build fails; the returned paths are then empty
// and nothing is left behind.
func BuildSIMDTest(pkg string) (wasmPath, wasmExecJS string, err error) {
	dir, target := "", pkg
	if filepath.IsAbs(pkg) || pkg == "." || pkg == ".." || strings.HasPrefix(pkg, "./") || strings.HasPrefix(pkg, "../") {
		abs, err := filepath.Abs(pkg)
		if err != nil {
			return "", "", fmt.Errorf("%w: %s: %v", ErrBuild, pkg, err)
		}
		dir, target = abs, "."
	}
	goroot, err := toolchainGOROOT(dir)
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrBuild, err)
	}
	glue := ""
	for _, p := range []string{"lib/wasm/wasm_exec.js", "misc/wasm/wasm_exec.js"} {
		if _, err := os.Stat(filepath.Join(goroot, p)); err == nil {
			glue = filepath.Join(goroot, p)
			break
		}
	}
	if glue == "" {
		return "", "", fmt.Errorf("%w: toolchain %s (GOROOT %s) has no lib/wasm/wasm_exec.js", ErrBuild, Toolchain(), goroot)
	}
	tmp, err := os.MkdirTemp("", "wasmbrowser-build-")
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrBuild, err)
	}
	out := filepath.Join(tmp, "test.wasm")
	if _, err := goOutput(dir, true, "test", "-c", "-o", out, target); err != nil {
		os.RemoveAll(tmp)
		return "", "", fmt.Errorf("%w: %s with %s: %v", ErrBuild, pkg, Toolchain(), err)
	}
	if _, err := os.Stat(out); err != nil { // go test -c writes nothing for a package without tests
		os.RemoveAll(tmp)
		return "", "", fmt.Errorf("%w: %s has no test files", ErrBuild, pkg)
	}
	return out, glue, nil
}

// toolchainGOROOT returns the GOROOT of [Toolchain], run from dir; it fails when
// the toolchain is neither cached nor downloadable.
func toolchainGOROOT(dir string) (string, error) {
	goroot, err := goOutput(dir, false, "env", "GOROOT")
	if err != nil {
		return "", fmt.Errorf("finding the GOROOT of toolchain %s: %v", Toolchain(), err)
	}
	return goroot, nil
}

// goOutput runs the go command in dir (the current directory when empty) and
// returns its trimmed stdout; its error holds stderr.
func goOutput(dir string, wasm bool, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = goEnv(wasm)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String() + stdout.String())
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return strings.TrimSpace(stdout.String()), nil
}
