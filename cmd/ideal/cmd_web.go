package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ideal-fsad/ideal/wasm/site"
)

func init() {
	register("web", "serve the in-browser demo (the engine compiled to WebAssembly; images stay on your machine)", runWeb)
}

const webUsage = `[--addr 127.0.0.1:8080] [--public]

Serves the demo page: its files, ideal.wasm (the engine) and wasm_exec.js are embedded in
the binary when it is built ('make build' runs 'make wasm' first). A binary built without
them (a plain 'go build' or 'go install') says so and how to build one with them.

The server listens on the loopback interface only, unless --public is given with another
--addr (such as 0.0.0.0:8080), and then warns. It serves its embedded files and nothing else,
to GET and HEAD requests without a body, with a content security policy, and closes slow or
idle connections. Ctrl-C (SIGINT) or SIGTERM stops it after the requests in flight.`

// webDefaultAddr is where the server listens unless told otherwise: loopback only.
const webDefaultAddr = "127.0.0.1:8080"

// webLimits are the server's timeouts and size caps.
type webLimits struct {
	readHeader, read, write, idle time.Duration
	maxHeaderBytes                int // request line and headers
	maxURL                        int // bytes of the request target
	maxConns                      int // open connections; more are closed at once
}

// defaultWebLimits: a browser on loopback sends its request headers at once and takes
// the 6 MB ideal.wasm in milliseconds; the values matter with --public on a slow link.
// The write timeout (from the end of the request headers to the end of the response)
// lets ideal.wasm through at 200 kbit/s (6 MB × 8 / 200 kbit/s ≈ 4 min); the request
// limits are far above what the page's requests need (64 KiB of headers leaves room for
// the cookies that other servers on localhost set: cookies ignore the port).
var defaultWebLimits = webLimits{
	readHeader:     10 * time.Second,
	read:           20 * time.Second,
	write:          5 * time.Minute,
	idle:           60 * time.Second,
	maxHeaderBytes: 64 << 10,
	maxURL:         2048,
	maxConns:       256,
}

// webCSP lets the page load its own script, style sheet, worker and ideal.wasm, compile
// WebAssembly and show the overlays it makes as blob: images, and nothing else: no inline
// code, no other origin, no plugins, no <base>, no form posts, no framing.
const webCSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; " +
	"img-src 'self' blob:; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// webHeaders are set on every response of the handler.
var webHeaders = map[string]string{
	"Content-Security-Policy":      webCSP,
	"X-Content-Type-Options":       "nosniff",
	"Referrer-Policy":              "no-referrer",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Resource-Policy": "same-origin",
	"X-Frame-Options":              "DENY",
	"Cache-Control":                "no-store",
}

// webTypes are the Content-Types of the site's files, by extension.
var webTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".wasm": "application/wasm",
}

func runWeb(args []string) error {
	fl := newFlagSet("web", webUsage)
	addr := fl.String("addr", webDefaultAddr, "listen `address`; another than loopback needs --public")
	public := fl.Bool("public", false, "allow an --addr reachable from other machines")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fl.Args())
	}
	ln, err := webListen(*addr, *public, os.Stderr)
	if err != nil {
		return err
	}
	defer ln.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h, err := webHandler(site.Static)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "ideal web: serving http://%s/ (Ctrl-C to stop)\n", ln.Addr())
	return serveWeb(ctx, newWebServer(h, defaultWebLimits), ln, os.Stderr)
}

// webListen listens on addr. An address that is not loopback is refused unless public,
// and then comes with a warning on stderr.
func webListen(addr string, public bool, stderr io.Writer) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		if !public {
			ln.Close()
			return nil, usageErrorf("--addr %s is reachable from other machines; add --public to serve there anyway", addr)
		}
		fmt.Fprintf(stderr, "ideal web: WARNING: listening on %s, reachable from other machines (--public); the page is served without TLS or authentication\n", ln.Addr())
	}
	return ln, nil
}

// serveWeb serves on ln until ctx ends, then shuts the server down, giving the requests
// in flight up to 10 seconds.
func serveWeb(ctx context.Context, srv *http.Server, ln net.Listener, stderr io.Writer) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stderr, "ideal web: stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// newWebServer returns the HTTP server of 'ideal web' with the limits l.
func newWebServer(h http.Handler, l webLimits) *http.Server {
	var open atomic.Int64
	return &http.Server{
		Handler:           maxURLHandler(h, l.maxURL),
		ReadHeaderTimeout: l.readHeader,
		ReadTimeout:       l.read,
		WriteTimeout:      l.write,
		IdleTimeout:       l.idle,
		MaxHeaderBytes:    l.maxHeaderBytes,
		// "OPTIONS *" goes to h (405) instead of Go's built-in answer.
		DisableGeneralOptionsHandler: true,
		ConnState: func(c net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				if open.Add(1) > int64(l.maxConns) {
					c.Close() // the server then reports StateClosed
				}
			case http.StateClosed, http.StateHijacked:
				open.Add(-1)
			}
		},
	}
}

// maxURLHandler answers 414 to a request target longer than max bytes.
func maxURLHandler(h http.Handler, max int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.RequestURI) > max {
			setWebHeaders(w)
			http.Error(w, "request URI too long", http.StatusRequestURITooLong)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func setWebHeaders(w http.ResponseWriter) {
	for k, v := range webHeaders {
		w.Header().Set(k, v)
	}
}

// webFile is one file the site serves.
type webFile struct {
	data  []byte
	ctype string
}

// errNoEngine is webHandler's error for a site without the compiled engine.
var errNoEngine = errors.New("this ideal binary was built without the browser engine (ideal.wasm): " +
	"build it with 'make build' (which runs 'make wasm', putting ideal.wasm and wasm_exec.js into wasm/site/static/, and then embeds them)")

// webHandler returns the demo's handler: the files of the site (site.Static: the folder
// static/, with ideal.wasm and wasm_exec.js), read into memory, to GET and HEAD requests
// without a body, with the security headers on every response.
func webHandler(siteFS fs.FS) (http.Handler, error) {
	static, err := fs.Sub(siteFS, "static")
	if err != nil {
		return nil, err
	}
	files := map[string]webFile{}
	err = fs.WalkDir(static, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := fs.ReadFile(static, name)
		ct, ok := webTypes[path.Ext(name)]
		if !ok {
			ct = "application/octet-stream"
		}
		files[name] = webFile{data, ct}
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"ideal.wasm", "wasm_exec.js"} {
		if _, ok := files[name]; !ok {
			return nil, errNoEngine
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setWebHeaders(w)
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.ContentLength != 0 { // includes -1: a body of unknown length
			w.Header().Set("Connection", "close") // do not read the body
			http.Error(w, "this server takes no request body", http.StatusRequestEntityTooLarge)
			return
		}
		p := r.URL.Path
		// After the one decoding of the URL, a '%' is a second encoding, and '\' and
		// NUL have no place in the site's names; ValidPath refuses "..", "." and "//".
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "%\\\x00") {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		name := p[1:]
		if name == "" {
			name = "index.html"
		}
		if !fs.ValidPath(name) {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		f, ok := files[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.ctype)
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.data))
	}), nil
}
