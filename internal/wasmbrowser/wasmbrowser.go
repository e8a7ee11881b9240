// Package wasmbrowser runs Go test binaries compiled to WebAssembly (GOOS=js
// GOARCH=wasm) inside headless Chromium, so that a package's tests run on the
// browser's own engine (V8 with WebAssembly SIMD) and not only in Node.
//
// [BuildSIMDTest] builds a package's test binary with the toolchain that has
// simd/archsimd (GOEXPERIMENT=simd), and [RunTestBinary] serves the binary, the
// toolchain's wasm_exec.js and a small runner page on a loopback server, opens the
// page in headless Chromium through the DevTools protocol (chromedp), runs the
// binary in a dedicated worker and returns its output and exit code, as
// go_js_wasm_exec does for Node.
//
// By default the browser gives the binary no file system: wasm_exec.js's stub
// answers every file operation but writing to stdout and stderr with ENOSYS, so
// tests that read testdata, create temporary directories or look up the working
// directory fail there; select the tests that need none with -test.run. With
// [Options].Dir set, [RunTestBinaryWith] gives it a read-only one instead: the
// module holding Dir, served by the loopback server under its paths on this
// machine, with Dir as the working directory, so that tests read their testdata as
// under go test. Paths outside the module fail with EACCES, missing ones with
// ENOENT, opening for writing with EROFS, and creating directories, removing or
// renaming with ENOSYS.
package wasmbrowser

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ideal-fsad/ideal/internal/chromium"
)

//go:embed assets
var assets embed.FS

// ErrNoChromium is wrapped by the errors of [ChromiumPath] and [RunTestBinary]
// when no Chromium executable can be found.
var ErrNoChromium = chromium.ErrNotFound

// ErrPage is wrapped by the error of [RunTestBinary] when the page or its worker
// fails before the Go program exits: the module does not compile or instantiate
// (a browser without WebAssembly SIMD, a binary for another GOOS), a script error,
// a trap in the WebAssembly code.
var ErrPage = errors.New("wasmbrowser: the page failed")

// ChromiumPath returns the Chromium executable to run (see chromium.Path); the error
// wraps [ErrNoChromium].
func ChromiumPath() (string, error) { return chromium.Path() }

// pageState is what the runner page's __wasmbrowserTake returns.
type pageState struct {
	Out   string `json:"out"`   // output written since the last call
	Done  bool   `json:"done"`  // the program has ended (Exit) or failed (Error)
	Exit  *int   `json:"exit"`  // the program's exit code, once it has called exit
	Error string `json:"error"` // why the page or the worker failed
}

// pollEvery is how often RunTestBinary reads the page's state.
const pollEvery = 200 * time.Millisecond

// RunTestBinary runs the Go test binary wasmPath (built with GOOS=js GOARCH=wasm,
// for example by [BuildSIMDTest]) in headless Chromium, with wasmExecJS (the
// wasm_exec.js of the toolchain that built it) as its glue and args as its
// command line after the program name (for example -test.short, -test.v,
// -test.run=Pattern). It returns what the program wrote to stdout and stderr,
// interleaved in the order written, and its exit code.
//
// The binary runs in a dedicated worker of a page served on a loopback port under a
// content security policy that allows same-origin scripts and WebAssembly
// compilation only; the browser gets a fresh profile in a temporary directory,
// removed afterwards. A non-zero exit code is not an error: err is nil whenever the
// program exited. Otherwise the exit code is -1 and err says why: it wraps
// [ErrNoChromium] when there is no browser, [ErrPage] when the page or the worker
// failed (the output then holds what the program wrote before), or ctx's error
// when ctx ended first (timeout or cancellation; the output holds what was
// written so far). RunTestBinary adds no time limit of its own: give ctx a
// deadline of a few minutes, or rely on the test binary's -test.timeout (10
// minutes by default), which works in the browser too.
//
// flags are extra Chromium command-line switches, each "--name" or "--name=value"
// (the leading dashes optional), added to the defaults: "--enable-unsafe-webgpu"
// gives the worker a WebGPU adapter (SwiftShader's, on a machine without a GPU).
// The binary gets no file system: [RunTestBinaryWith] can give it one.
func RunTestBinary(ctx context.Context, wasmPath, wasmExecJS string, args []string, flags ...string) (output string, exitCode int, err error) {
	return RunTestBinaryWith(ctx, wasmPath, wasmExecJS, args, Options{Flags: flags})
}

// Options are the settings of [RunTestBinaryWith]; the zero value is
// [RunTestBinary]'s default.
type Options struct {
	// Flags are extra Chromium command-line switches, as for [RunTestBinary].
	Flags []string
	// Dir, when not empty, is the binary's working directory (that of its package,
	// as under go test) and gives it a read-only file system: the module holding
	// Dir (the nearest directory at or above it with a go.mod file; Dir itself
	// when there is none), under the same absolute paths as on this machine.
	// Nothing outside that tree can be read, through dot-dot elements or symbolic
	// links either; the package comment lists the errors.
	Dir string
}

// RunTestBinaryWith is [RunTestBinary] with options: extra Chromium switches and a
// read-only file system.
func RunTestBinaryWith(ctx context.Context, wasmPath, wasmExecJS string, args []string, o Options) (output string, exitCode int, err error) {
	exe, err := ChromiumPath()
	if err != nil {
		return "", -1, err
	}
	var files *tree
	cwd := ""
	if o.Dir != "" {
		if files, cwd, err = openTree(o.Dir); err != nil {
			return "", -1, err
		}
		defer files.Close()
	}
	glue, configJSON, err := runnerInputs(wasmPath, wasmExecJS, args, cwd)
	if err != nil {
		return "", -1, err
	}
	srv := httptest.NewServer(handler(wasmPath, glue, configJSON, files))
	defer srv.Close()

	profile, err := os.MkdirTemp("", "wasmbrowser-profile-")
	if err != nil {
		return "", -1, fmt.Errorf("wasmbrowser: %w", err)
	}
	defer os.RemoveAll(profile)
	opts := chromium.Options(exe, profile)
	for _, f := range o.Flags {
		name, value, hasValue := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if hasValue {
			opts = append(opts, chromedp.Flag(name, value))
		} else {
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	pageErr := watchConsole(bctx)

	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		if ctx.Err() != nil {
			return "", -1, fmt.Errorf("wasmbrowser: starting Chromium and opening the runner page: %w", ctx.Err())
		}
		return "", -1, fmt.Errorf("wasmbrowser: starting Chromium (%s) and opening the runner page: %w", exe, err)
	}
	return collect(ctx, bctx, pageErr)
}

// runnerConfig is config.json, what the worker needs besides the binary.
type runnerConfig struct {
	Args []string `json:"args"` // the command line after the program name
	Cwd  string   `json:"cwd"`  // the working directory; empty: no file system
}

// runnerInputs reads the JS glue and checks the binary, and encodes the arguments
// and the working directory (empty without a file system).
func runnerInputs(wasmPath, wasmExecJS string, args []string, cwd string) (glue, configJSON []byte, err error) {
	glue, err = os.ReadFile(wasmExecJS)
	if err != nil {
		return nil, nil, fmt.Errorf("wasmbrowser: reading wasm_exec.js: %w", err)
	}
	if st, err := os.Stat(wasmPath); err != nil {
		return nil, nil, fmt.Errorf("wasmbrowser: test binary: %w", err)
	} else if st.IsDir() {
		return nil, nil, fmt.Errorf("wasmbrowser: test binary %s is a directory", wasmPath)
	}
	if args == nil {
		args = []string{}
	}
	configJSON, err = json.Marshal(runnerConfig{Args: args, Cwd: filepath.ToSlash(cwd)})
	if err != nil {
		return nil, nil, fmt.Errorf("wasmbrowser: arguments: %w", err)
	}
	return glue, configJSON, nil
}

// watchConsole keeps the page's console errors and warnings (a CSP violation, a
// failed fetch) and returns a function making an ErrPage error that quotes them.
func watchConsole(bctx context.Context) func(format string, a ...any) error {
	var (
		mu      sync.Mutex
		console []string
	)
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				mu.Lock()
				if len(console) < 20 {
					console = append(console, m.String())
				}
				mu.Unlock()
			}
		}
	}()
	return func(format string, a ...any) error {
		mu.Lock()
		defer mu.Unlock()
		msg := fmt.Sprintf(format, a...)
		if len(console) > 0 {
			msg += "\nbrowser console:\n\t" + strings.Join(console, "\n\t")
		}
		return fmt.Errorf("%w: %s", ErrPage, msg)
	}
}

// collect polls the page for the program's output until it exits (or ctx ends).
func collect(ctx, bctx context.Context, pageErr func(string, ...any) error) (string, int, error) {
	var out strings.Builder
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		st, err := chromedp.Run(bctx, chromedp.Evaluate[pageState](`globalThis.__wasmbrowserTake ? __wasmbrowserTake() : ({out: '', done: true, exit: null, error: 'the runner script did not load'})`))
		if err != nil {
			if ctx.Err() != nil {
				return out.String(), -1, fmt.Errorf("wasmbrowser: the test binary did not exit in time: %w", ctx.Err())
			}
			return out.String(), -1, fmt.Errorf("wasmbrowser: reading the page's state: %w", err)
		}
		out.WriteString(st.Out)
		if st.Done {
			switch {
			case st.Error != "":
				return out.String(), -1, pageErr("%s", st.Error)
			case st.Exit == nil:
				return out.String(), -1, pageErr("the program ended without an exit code")
			}
			return out.String(), *st.Exit, nil
		}
		select {
		case <-ctx.Done():
			return out.String(), -1, fmt.Errorf("wasmbrowser: the test binary did not exit in time: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// csp lets the page run its own scripts and workers and compile WebAssembly, and
// nothing else: no inline script, no other origin.
const csp = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'"

// handler serves the runner page, its scripts, the glue, the configuration, the
// test binary and, when files is not nil, the read-only file system.
func handler(wasmPath string, glue, configJSON []byte, files *tree) http.Handler {
	static := func(name, ctype string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := assets.ReadFile("assets/" + name)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", ctype)
			w.Write(b)
		}
	}
	bytesOf := func(b []byte, ctype string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ctype)
			w.Write(b)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", static("runner.html", "text/html; charset=utf-8"))
	mux.Handle("GET /runner.js", static("runner.js", "text/javascript; charset=utf-8"))
	mux.Handle("GET /worker.js", static("worker.js", "text/javascript; charset=utf-8"))
	mux.Handle("GET /fs.js", static("fs.js", "text/javascript; charset=utf-8"))
	mux.Handle("GET /wasm_exec.js", bytesOf(glue, "text/javascript; charset=utf-8"))
	mux.Handle("GET /config.json", bytesOf(configJSON, "application/json"))
	if files != nil {
		mux.HandleFunc("GET /fs/stat", files.serveStat)
		mux.HandleFunc("GET /fs/read", files.serveRead)
	}
	mux.HandleFunc("GET /test.wasm", func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(wasmPath)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", "application/wasm")
		http.ServeContent(w, r, "test.wasm", time.Time{}, f)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, r)
	})
}
