package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing/fstest"

	"github.com/ideal-fsad/ideal/wasm/site"
)

func init() {
	register("web", "serve the in-browser demo (the engine compiled to WebAssembly; images stay on your machine)", runWeb)
}

const webUsage = `[--addr 127.0.0.1:8080]

Serves the demo page. ideal.wasm and wasm_exec.js are taken from the binary when 'make wasm'
ran before it was built; otherwise they are built now with the Go toolchain (go build with
GOOS=js GOARCH=wasm of github.com/ideal-fsad/ideal/wasm/main, run from inside the module's
source tree, and $(go env GOROOT)/lib/wasm/wasm_exec.js).`

func runWeb(args []string) error {
	fs := newFlagSet("web", webUsage)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address`; keep it on loopback unless you mean to share the page")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	defer ln.Close()
	h, err := webHandler()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "ideal web: serving http://%s/ (Ctrl-C to stop)\n", ln.Addr())
	return http.Serve(ln, h)
}

// webHandler returns the demo's file server. When the embedded site lacks ideal.wasm, it
// builds it and serves it, with GOROOT's wasm_exec.js, from memory.
func webHandler() (http.Handler, error) {
	static, err := fs.Sub(site.Static, "static")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	if _, err := fs.Stat(static, "ideal.wasm"); err != nil {
		wasm, execJS, err := buildWasm()
		if err != nil {
			return nil, err
		}
		static = overlayFS{static, fstest.MapFS{"ideal.wasm": {Data: wasm}, "wasm_exec.js": {Data: execJS}}}
	}
	fsrv := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		fsrv.ServeHTTP(w, r)
	}), nil
}

// buildWasm compiles wasm/main for js/wasm and reads wasm_exec.js from GOROOT.
func buildWasm() (wasm, execJS []byte, err error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, nil, errors.New("web: this binary has no embedded ideal.wasm and no Go toolchain is on PATH to build it (run 'make wasm' before building ideal)")
	}
	dir, err := os.MkdirTemp("", "ideal-web-")
	if err != nil {
		return nil, nil, fmt.Errorf("web: %w", err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "ideal.wasm")
	fmt.Fprintln(os.Stderr, "ideal web: building ideal.wasm (GOOS=js GOARCH=wasm)...")
	cmd := exec.Command(goBin, "build", "-trimpath", "-o", out, "github.com/ideal-fsad/ideal/wasm/main")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("web: building ideal.wasm (run from inside the ideal source tree, or 'make wasm' before building ideal): %v\n%s", err, msg)
	}
	root, err := exec.Command(goBin, "env", "GOROOT").Output()
	if err != nil {
		root = []byte(runtime.GOROOT())
	}
	if execJS, err = os.ReadFile(filepath.Join(strings.TrimSpace(string(root)), "lib", "wasm", "wasm_exec.js")); err != nil {
		return nil, nil, fmt.Errorf("web: %w", err)
	}
	if wasm, err = os.ReadFile(out); err != nil {
		return nil, nil, fmt.Errorf("web: %w", err)
	}
	return wasm, execJS, nil
}

// overlayFS serves files from top before base.
type overlayFS struct{ base, top fs.FS }

func (o overlayFS) Open(name string) (fs.File, error) {
	if f, err := o.top.Open(name); err == nil {
		return f, nil
	}
	return o.base.Open(name)
}
