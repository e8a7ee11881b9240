package site

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// testSite is Static with stand-ins for ideal.wasm and wasm_exec.js where 'make wasm'
// has not put them there: the server serves bytes, it does not run them.
func testSite(t *testing.T) fs.FS {
	t.Helper()
	m := fstest.MapFS{
		"static/ideal.wasm":   {Data: []byte("\x00asm\x01\x00\x00\x00")},
		"static/wasm_exec.js": {Data: []byte("\"use strict\";\nglobalThis.Go = class {};\n")},
	}
	err := fs.WalkDir(Static, "static", func(name string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			data, err := fs.ReadFile(Static, name)
			m[name] = &fstest.MapFile{Data: data}
			return err
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testHandler is Handler(testSite(t)).
func testHandler(t *testing.T) http.Handler {
	t.Helper()
	h, err := Handler(testSite(t))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// startServer serves h with NewServer(h, l) on a loopback port until the test ends
// and returns the address.
func startServer(t *testing.T, h http.Handler, l Limits) string {
	t.Helper()
	return serveOnLoopback(t, NewServer(h, l))
}

// serveOnLoopback runs srv on a loopback port until the test ends and returns the address.
func serveOnLoopback(t *testing.T, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// A site without the engine is refused with how to build one with it.
func TestWithoutEngine(t *testing.T) {
	_, err := Handler(fstest.MapFS{"static/index.html": &fstest.MapFile{Data: []byte("<!doctype html>")}})
	if !errors.Is(err, ErrNoEngine) || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("error %v, want ErrNoEngine saying how to build", err)
	}
}

// rawHTTP sends req as it is on a new connection to addr and reads one response (to a
// request with the given method). It writes in the background, so that a server that
// answers before reading the whole request is heard.
func rawHTTP(t *testing.T, addr, method, req string) (*http.Response, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go io.WriteString(c, req)
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%.60q: reading the response: %v", req, err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func getReq(target string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
}

// TestWebTraversal sends path traversal probes (plain, percent-encoded, double-encoded,
// backslashes, NUL bytes, absolute forms, overlong) to the real server and checks each is
// answered 400, 404 or 414 without the content of a file outside the embedded site: a
// secret in the working folder, one in its parent, one beside the test binary, and
// /etc/passwd. The same probes sent to a naive handler (os.ReadFile of the joined path)
// reach every one of those files, which shows that the probes and the check work.
func TestTraversal(t *testing.T) {
	root := t.TempDir()
	work := filepath.Join(root, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := func(path string) string {
		t.Helper()
		s := fmt.Sprintf("SECRET-%x", rand.Uint64())
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(path) })
		return s
	}
	secrets := map[string]string{
		"working folder": secret(filepath.Join(work, "secret.txt")),
		"parent folder":  secret(filepath.Join(root, "secret-up.txt")),
	}
	var binRel string // the secret beside the test binary, relative to work
	if exe, err := os.Executable(); err != nil {
		t.Logf("no secret beside the test binary: %v", err)
	} else if binRel, err = filepath.Rel(work, filepath.Join(filepath.Dir(exe), fmt.Sprintf("ideal-web-secret-%x.txt", rand.Uint64()))); err != nil {
		t.Fatal(err)
	} else {
		secrets["beside the test binary"] = secret(filepath.Join(work, binRel))
	}
	if passwd, err := os.ReadFile("/etc/passwd"); err == nil && len(passwd) > 0 {
		secrets["/etc/passwd"] = strings.SplitN(string(passwd), "\n", 2)[0]
	}
	h := testHandler(t)
	t.Chdir(work)

	up := strings.Repeat("../", 12)
	probes := []string{
		"/secret.txt", "/./secret.txt", "/../secret-up.txt", "/%2e%2e/secret-up.txt", "/..%2fsecret-up.txt",
		"/%2E%2E%2Fsecret-up.txt", "/%252e%252e/secret-up.txt", "/%252e%252e%252fsecret-up.txt", "/..\\secret-up.txt",
		"/..%5csecret-up.txt", "/.%2e/secret-up.txt", "/index.html/../../secret-up.txt", "/" + up + "etc/passwd",
		"/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc/passwd", "/%252e%252e/%252e%252e/etc/passwd",
		"/..\\..\\etc\\passwd", "/%2e%2e%5c%2e%2e%5cetc%5cpasswd", "/" + strings.Repeat("%2e%2e/", 12) + "etc/passwd",
		"/" + strings.Repeat("..%2f", 12) + "etc/passwd", "/etc/passwd", "//etc/passwd", "/%2fetc%2fpasswd",
		"/etc/passwd%00", "/%00", "/index.html%00.txt", "/secret.txt%00", "/\x00", "/..\x00/secret-up.txt", "/C:/Windows/win.ini", "/C:%5cWindows%5cwin.ini",
		"http://127.0.0.1/../../etc/passwd", "http://127.0.0.1/" + up + "etc/passwd", "/.", "/..", "/./", "/static/",
		"/" + strings.Repeat("a/../", 1000) + "secret.txt",
	}
	if binRel != "" {
		rel := filepath.ToSlash(binRel)
		probes = append(probes, "/"+rel, "/"+strings.ReplaceAll(rel, "..", "%2e%2e"), "/"+strings.ReplaceAll(rel, "/", "%2f"),
			"/"+filepath.ToSlash(filepath.Join(work, binRel)), "//"+filepath.ToSlash(filepath.Join(work, binRel)))
	}
	leaked := func(body string) string {
		for where, s := range secrets {
			if strings.Contains(body, s) {
				return where
			}
		}
		return ""
	}

	// The control: a naive handler on the same setup gives every secret away.
	naive := serveOnLoopback(t, &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(filepath.Join(".", r.URL.Path))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	})})
	reached := map[string]bool{}
	for _, p := range probes {
		if _, body := rawHTTP(t, naive, "GET", getReq(p)); leaked(body) != "" {
			reached[leaked(body)] = true
		}
	}
	for where := range secrets {
		if !reached[where] {
			t.Errorf("control: no probe reached the secret %s through the naive handler", where)
		}
	}

	addr := startServer(t, h, DefaultLimits)
	for _, p := range probes {
		resp, body := rawHTTP(t, addr, "GET", getReq(p))
		if c := resp.StatusCode; c != 400 && c != 404 && c != 414 {
			t.Errorf("GET %.80q: status %d, want 400, 404 or 414", p, c)
		}
		if where := leaked(body); where != "" {
			t.Errorf("GET %.80q: the response holds the secret %s", p, where)
		}
	}
}

// TestWebRequestLimits: oversized headers (431), a request target over the cap (414), or
// one over the header cap (431), a request body of any size (413) and a POST (405) are
// refused by the real server, while a server without the caps takes the same big header.
func TestRequestLimits(t *testing.T) {
	addr := startServer(t, testHandler(t), DefaultLimits)
	big := "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + strings.Repeat("a", 200<<10) + "\r\nConnection: close\r\n\r\n"
	for _, c := range []struct {
		name, method, req string
		want              int
	}{
		{"200 KiB header", "GET", big, http.StatusRequestHeaderFieldsTooLarge},
		{"4 KiB target", "GET", getReq("/" + strings.Repeat("a", 4<<10)), http.StatusRequestURITooLong},
		{"200 KiB target", "GET", getReq("/" + strings.Repeat("a", 200<<10)), http.StatusRequestHeaderFieldsTooLarge},
		{"GET with a 10 MB body", "GET", "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000\r\n\r\n" + strings.Repeat("x", 1<<20), http.StatusRequestEntityTooLarge},
		{"GET with a 1-byte body", "GET", "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nx", http.StatusRequestEntityTooLarge},
		{"GET with a chunked body", "GET", "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", http.StatusRequestEntityTooLarge},
		{"POST upload", "POST", "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 10000000\r\n\r\n" + strings.Repeat("x", 1<<20), http.StatusMethodNotAllowed},
	} {
		resp, _ := rawHTTP(t, addr, c.method, c.req)
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}
	// The control: Go's defaults take the 200 KiB header.
	lax := serveOnLoopback(t, &http.Server{Handler: testHandler(t)})
	if resp, _ := rawHTTP(t, lax, "GET", big); resp.StatusCode != http.StatusOK {
		t.Errorf("control: a server with Go's defaults answered the 200 KiB header with %d, want 200", resp.StatusCode)
	}
}

// closedWithin reports whether the server closes c (a read ends in EOF or an error other
// than the client's own deadline) within d; trickle, when set, is written a byte at a
// time every 50 ms meanwhile.
func closedWithin(c net.Conn, d time.Duration, trickle string) bool {
	stop := make(chan struct{})
	defer close(stop)
	if trickle != "" {
		go func() {
			for i := range len(trickle) {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
				if _, err := c.Write([]byte{trickle[i]}); err != nil {
					return
				}
			}
		}()
	}
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// TestWebSlowClients: a slowloris client that sends its request headers a byte every
// 50 ms is disconnected after the read header timeout, and an idle keep-alive connection
// after the idle timeout; a server without the timeouts keeps both open.
func TestSlowClients(t *testing.T) {
	l := DefaultLimits
	l.ReadHeader, l.Read, l.Idle = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	strict := startServer(t, testHandler(t), l)
	lax := serveOnLoopback(t, &http.Server{Handler: testHandler(t)})
	slowloris := func(addr string) (bool, time.Duration) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
		start := time.Now()
		closed := closedWithin(c, 1500*time.Millisecond, "X-Slow: "+strings.Repeat("a", 100))
		return closed, time.Since(start)
	}
	idle := func(addr string) bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /style.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		if resp.Close {
			t.Fatal("the server closed the keep-alive connection after the response")
		}
		return closedWithin(c, 1500*time.Millisecond, "")
	}
	if closed, after := slowloris(strict); !closed {
		t.Error("a slowloris client was not disconnected within 1.5 s (read header timeout 300 ms)")
	} else if after < 250*time.Millisecond {
		t.Errorf("a slowloris client was disconnected after %v, before the read header timeout of 300 ms", after)
	} else {
		t.Logf("slowloris client disconnected after %v", after.Round(time.Millisecond))
	}
	if !idle(strict) {
		t.Error("an idle keep-alive connection was not closed within 1.5 s (idle timeout 300 ms)")
	}
	if closed, _ := slowloris(lax); closed {
		t.Error("control: a server without timeouts disconnected the slowloris client")
	}
	if idle(lax) {
		t.Error("control: a server without timeouts closed the idle connection")
	}
}

// TestWebConnLimit: connections past the limit are closed at once; once one closes,
// a new one is served.
func TestConnLimit(t *testing.T) {
	l := DefaultLimits
	l.MaxConns = 2
	addr := startServer(t, testHandler(t), l)
	var conns []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		io.WriteString(c, "HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		if resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "HEAD"}); err != nil || resp.StatusCode != 200 {
			t.Fatalf("connection %d: %v %v", len(conns), resp, err)
		}
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !closedWithin(c, 2*time.Second, "") {
		t.Error("the third connection (limit 2) was not closed")
	}
	conns[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for { // the server notices the close asynchronously
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		io.WriteString(c, "HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "HEAD"})
		c.Close()
		if err == nil && resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new connection served after one of the two closed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWebHeaders: every response, the page, its scripts, ideal.wasm, 404s, 405s and
// 400s, carries the security headers; the files have their Content-Types; HEAD gives the
// headers of GET without the body; other methods are refused with an Allow header.
func TestHeaders(t *testing.T) {
	addr := startServer(t, testHandler(t), DefaultLimits)
	check := func(what string, resp *http.Response) {
		t.Helper()
		for k, v := range map[string]string{
			"Content-Security-Policy": "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; connect-src 'self'; " +
				"img-src 'self' blob:; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
			"X-Content-Type-Options":       "nosniff",
			"Referrer-Policy":              "no-referrer",
			"Cross-Origin-Opener-Policy":   "same-origin",
			"Cross-Origin-Resource-Policy": "same-origin",
			"Cross-Origin-Embedder-Policy": "require-corp",
			"X-Frame-Options":              "DENY",
		} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s: %s: %q, want %q", what, k, got, v)
			}
		}
	}
	for _, c := range []struct {
		path, ctype, contains string
	}{
		{"/", "text/html; charset=utf-8", "<title>IDEAL"},
		{"/index.html", "text/html; charset=utf-8", "<title>IDEAL"},
		{"/pool.js", "text/javascript; charset=utf-8", "new Worker('worker.js')"},
		{"/worker.js", "text/javascript; charset=utf-8", "importScripts('wasm_exec.js')"},
		{"/wasm_exec.js", "text/javascript; charset=utf-8", "globalThis.Go = class"},
		{"/style.css", "text/css; charset=utf-8", "font-family"},
		{"/ideal.wasm", "application/wasm", "\x00asm"},
	} {
		resp, body := rawHTTP(t, addr, "GET", getReq(c.path))
		check("GET "+c.path, resp)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != c.ctype || !strings.Contains(body, c.contains) {
			t.Errorf("GET %s: %d, Content-Type %q, %d bytes; want 200, %q and %q in the body",
				c.path, resp.StatusCode, resp.Header.Get("Content-Type"), len(body), c.ctype, c.contains)
		}
		head, hbody := rawHTTP(t, addr, "HEAD", strings.Replace(getReq(c.path), "GET", "HEAD", 1))
		check("HEAD "+c.path, head)
		if head.StatusCode != 200 || hbody != "" || head.ContentLength != int64(len(body)) || head.Header.Get("Content-Type") != c.ctype {
			t.Errorf("HEAD %s: %d, %d body bytes, Content-Length %d, Content-Type %q; want 200, none, %d, %q",
				c.path, head.StatusCode, len(hbody), head.ContentLength, head.Header.Get("Content-Type"), len(body), c.ctype)
		}
	}
	for _, p := range []string{"/nothing.html", "/favicon.ico", "/static/index.html"} {
		resp, _ := rawHTTP(t, addr, "GET", getReq(p))
		check("GET "+p, resp)
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
	resp, _ := rawHTTP(t, addr, "GET", getReq("/../index.html"))
	check("GET /../index.html", resp)
	if resp.StatusCode != 400 {
		t.Errorf("GET /../index.html: %d, want 400", resp.StatusCode)
	}
	for _, m := range []string{"OPTIONS", "PUT", "DELETE", "POST", "PATCH", "TRACE", "PROPFIND"} {
		resp, _ := rawHTTP(t, addr, m, m+" / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		check(m, resp)
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /: %d, Allow %q; want 405, \"GET, HEAD\"", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	resp, _ = rawHTTP(t, addr, "OPTIONS", "OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
	check("OPTIONS *", resp)
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("OPTIONS *: %d, want 405", resp.StatusCode)
	}
}

// TestListen: loopback addresses are served; one reachable from other machines is
// refused with ErrNotLoopback unless public.
func TestListen(t *testing.T) {
	for _, a := range []string{"127.0.0.1:0", "localhost:0", "[::1]:0"} {
		ln, err := Listen(a, false)
		if err != nil {
			if a == "[::1]:0" {
				t.Logf("%s: %v (no IPv6 loopback here?)", a, err)
				continue
			}
			t.Errorf("%s: %v", a, err)
			continue
		}
		if !IsLoopback(ln.Addr()) {
			t.Errorf("%s: IsLoopback(%v) false", a, ln.Addr())
		}
		ln.Close()
	}
	for _, a := range []string{"0.0.0.0:0", ":0", "[::]:0"} {
		ln, err := Listen(a, false)
		if err == nil {
			ln.Close()
			t.Errorf("%s without public: served", a)
		} else if !errors.Is(err, ErrNotLoopback) {
			t.Errorf("%s without public: %v, want ErrNotLoopback", a, err)
		}
		if ln, err = Listen(a, true); err != nil {
			t.Logf("%s: %v", a, err)
			continue
		}
		if IsLoopback(ln.Addr()) {
			t.Errorf("%s: IsLoopback(%v) true", a, ln.Addr())
		}
		ln.Close()
	}
}

// TestServe: Serve answers until its context ends, then calls onStop and returns nil
// once the server is shut down.
func TestServe(t *testing.T) {
	ln, err := Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, NewServer(testHandler(t), DefaultLimits), ln, func() { close(stopped) }) }()
	url := "http://" + ln.Addr().String() + "/"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != CSP {
		t.Errorf("GET /: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve still running 15 s after its context ended")
	}
	select {
	case <-stopped:
	default:
		t.Error("onStop was not called")
	}
	if _, err := http.Get(url); err == nil {
		t.Error("the server still answers after Serve returned")
	}
}
