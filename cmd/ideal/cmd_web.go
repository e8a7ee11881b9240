package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

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
	h, err := site.Handler(site.Static)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "ideal web: serving http://%s/ (Ctrl-C to stop)\n", ln.Addr())
	return site.Serve(ctx, site.NewServer(h, site.DefaultLimits), ln, func() { fmt.Fprintln(os.Stderr, "ideal web: stopping") })
}

// webListen listens on addr (site.Listen). An address that is not loopback is a usage
// error unless public, and then comes with a warning on stderr.
func webListen(addr string, public bool, stderr io.Writer) (net.Listener, error) {
	ln, err := site.Listen(addr, public)
	if errors.Is(err, site.ErrNotLoopback) {
		return nil, usageErrorf("--addr %s is reachable from other machines; add --public to serve there anyway", addr)
	}
	if err != nil {
		return nil, err
	}
	if !site.IsLoopback(ln.Addr()) {
		fmt.Fprintf(stderr, "ideal web: WARNING: listening on %s, reachable from other machines (--public); the page is served without TLS or authentication\n", ln.Addr())
	}
	return ln, nil
}
