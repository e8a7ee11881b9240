package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/ideal-fsad/ideal/wasm/site"
)

// ErrNeedToken is Listen's error for an address reachable from other machines
// without a token.
var ErrNeedToken = errors.New("an address reachable from other machines needs an API token")

// Listen listens on addr: loopback only unless public, and then only with a token
// (site.ErrNotLoopback, ErrNeedToken). With certFile and keyFile it serves TLS.
func Listen(addr string, public bool, token, certFile, keyFile string) (net.Listener, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("TLS needs both a certificate and a key")
	}
	ln, err := site.Listen(addr, public)
	if err != nil {
		return nil, err
	}
	if !site.IsLoopback(ln.Addr()) && token == "" {
		ln.Close()
		return nil, fmt.Errorf("%w: %s", ErrNeedToken, addr)
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("TLS: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	return ln, nil
}

// Limits are the HTTP server's timeouts and caps: site.DefaultLimits with a read
// timeout long enough for uploads of reference sets.
func Limits() site.Limits {
	l := site.DefaultLimits
	l.Read = 2 * time.Minute
	l.MaxConns = 1024
	return l
}

// Serve loads the stored profiles (readiness follows) while serving s on ln until ctx
// ends, then finishes the requests in flight (site.Serve) and closes s, stopping a
// Load still running.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := site.NewServer(s.Handler(), Limits())
	srv.ErrorLog = nil
	loaded := make(chan struct{})
	go func() {
		defer close(loaded)
		if err := s.Load(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, errClosed) {
			s.log.Error("loading profiles", "err", err)
		}
	}()
	s.log.Info("serving", "addr", ln.Addr().String())
	err := site.Serve(ctx, srv, ln, func() { s.log.Info("stopping: finishing the requests in flight") })
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	cerr := s.Close() // waits for Load, which stops after the profile it is preparing
	<-loaded
	return errors.Join(err, cerr)
}
