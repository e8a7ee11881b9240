package site

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"path"
	"strings"
	"sync/atomic"
	"time"
)

// Limits are the server's timeouts and size caps.
type Limits struct {
	ReadHeader, Read, Write, Idle time.Duration
	MaxHeaderBytes                int // request line and headers
	MaxURL                        int // bytes of the request target
	MaxConns                      int // open connections; more are closed at once
}

// DefaultLimits: a browser on loopback sends its request headers at once and takes
// the 6 MB ideal.wasm in milliseconds; the values matter on a public address over a
// slow link. The write timeout (from the end of the request headers to the end of the
// response) lets ideal.wasm through at 200 kbit/s (6 MB × 8 / 200 kbit/s ≈ 4 min); the
// request limits are far above what the page's requests need (64 KiB of headers leaves
// room for the cookies that other servers on localhost set: cookies ignore the port).
var DefaultLimits = Limits{
	ReadHeader:     10 * time.Second,
	Read:           20 * time.Second,
	Write:          5 * time.Minute,
	Idle:           60 * time.Second,
	MaxHeaderBytes: 64 << 10,
	MaxURL:         2048,
	MaxConns:       256,
}

// CSP, the content security policy of every response, lets the page load its own
// script, style sheet, worker and ideal.wasm, compile WebAssembly and show the overlays
// it makes as blob: images, and nothing else: no inline code, no other origin, no
// plugins, no <base>, no form posts, no framing.
const CSP = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; " +
	"img-src 'self' blob:; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// headers are set on every response of the handler.
var headers = map[string]string{
	"Content-Security-Policy":      CSP,
	"X-Content-Type-Options":       "nosniff",
	"Referrer-Policy":              "no-referrer",
	"Cross-Origin-Opener-Policy":   "same-origin",
	"Cross-Origin-Embedder-Policy": "require-corp", // with COOP: cross-origin isolated, so the workers share memory
	"Cross-Origin-Resource-Policy": "same-origin",
	"X-Frame-Options":              "DENY",
	"Cache-Control":                "no-store",
}

// types are the Content-Types of the site's files, by extension.
var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".wasm": "application/wasm",
}

// ErrNoEngine is Handler's error for a site without the compiled engine.
var ErrNoEngine = errors.New("this ideal binary was built without the browser engine (ideal.wasm): " +
	"build it with 'make build' (which runs 'make wasm', putting ideal.wasm and wasm_exec.js into wasm/site/static/, and then embeds them)")

// ErrNotLoopback is Listen's error for an address reachable from other machines
// when public is false.
var ErrNotLoopback = errors.New("the address is reachable from other machines")

// Listen listens on the TCP address addr. An address that is not loopback is refused
// (ErrNotLoopback) unless public; IsLoopback tells the caller whether to warn.
func Listen(addr string, public bool) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if !public && !IsLoopback(ln.Addr()) {
		ln.Close()
		return nil, fmt.Errorf("%w: %s", ErrNotLoopback, addr)
	}
	return ln, nil
}

// IsLoopback reports whether a is a TCP address on the loopback interface.
func IsLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// Serve serves srv on ln until ctx ends, then calls onStop (when not nil) and shuts
// the server down, giving the requests in flight up to 10 seconds.
func Serve(ctx context.Context, srv *http.Server, ln net.Listener, onStop func()) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if onStop != nil {
		onStop()
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// NewServer returns an HTTP server of h with the limits l: request targets longer
// than l.MaxURL are answered 414, connections past l.MaxConns are closed at once, and
// "OPTIONS *" goes to h instead of Go's built-in answer.
func NewServer(h http.Handler, l Limits) *http.Server {
	var open atomic.Int64
	return &http.Server{
		Handler:                      maxURLHandler(h, l.MaxURL),
		ReadHeaderTimeout:            l.ReadHeader,
		ReadTimeout:                  l.Read,
		WriteTimeout:                 l.Write,
		IdleTimeout:                  l.Idle,
		MaxHeaderBytes:               l.MaxHeaderBytes,
		DisableGeneralOptionsHandler: true,
		ConnState: func(c net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				if open.Add(1) > int64(l.MaxConns) {
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
			setHeaders(w)
			http.Error(w, "request URI too long", http.StatusRequestURITooLong)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func setHeaders(w http.ResponseWriter) {
	for k, v := range headers {
		w.Header().Set(k, v)
	}
}

// file is one file the site serves.
type file struct {
	data  []byte
	ctype string
}

// Handler returns the demo's handler: the files of the folder static/ of siteFS
// (Static, or a copy of it), which must hold ideal.wasm and wasm_exec.js (else
// ErrNoEngine), read into memory, served to GET and HEAD requests without a body, with
// the security headers (CSP and others) on every response.
func Handler(siteFS fs.FS) (http.Handler, error) {
	files, err := readFiles(siteFS)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w)
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
		name, ok := fileName(r.URL.Path)
		if !ok {
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

// fileName is the name in the site of the (once decoded) URL path p, or false for a
// path that cannot name one of its files.
func fileName(p string) (string, bool) {
	// After the one decoding of the URL, a '%' is a second encoding, and '\' and
	// NUL have no place in the site's names; ValidPath refuses "..", "." and "//".
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "%\\\x00") {
		return "", false
	}
	name := p[1:]
	if name == "" {
		name = "index.html"
	}
	return name, fs.ValidPath(name)
}

// readFiles reads the regular files under static/ of siteFS, with their Content-Types.
func readFiles(siteFS fs.FS) (map[string]file, error) {
	static, err := fs.Sub(siteFS, "static")
	if err != nil {
		return nil, err
	}
	files := map[string]file{}
	err = fs.WalkDir(static, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		data, err := fs.ReadFile(static, name)
		ct, ok := types[path.Ext(name)]
		if !ok {
			ct = "application/octet-stream"
		}
		files[name] = file{data, ct}
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"ideal.wasm", "wasm_exec.js"} {
		if _, ok := files[name]; !ok {
			return nil, ErrNoEngine
		}
	}
	return files, nil
}
