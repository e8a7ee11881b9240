package serve

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ideal-fsad/ideal"
)

// errorBody is every error's JSON (the Open Inference Protocol's error shape).
type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorBody{msg})
}

// errTooBusy is the limiter's refusal (429).
var errTooBusy = errors.New("too many requests waiting; retry later")

// errStatus is the HTTP status of an error met while serving a request.
func errStatus(err error) int {
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, errNotFound):
		return http.StatusNotFound
	case errors.Is(err, errTooBusy):
		return http.StatusTooManyRequests
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return 499 // client closed the request (nginx's convention)
	case errors.Is(err, ideal.ErrBadInput), errors.Is(err, ideal.ErrBadOption):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// fail answers err with its status and a JSON message.
func (s *Server) fail(w http.ResponseWriter, err error) {
	code := errStatus(err)
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	if code == http.StatusRequestEntityTooLarge {
		w.Header().Set("Connection", "close")
	}
	if code >= 500 {
		s.log.Error("request failed", "err", err)
	}
	writeError(w, code, err.Error())
}

// statusWriter records the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) {
	if w.code == 0 {
		w.code = c
	}
	w.ResponseWriter.WriteHeader(c)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// middleware checks the token, limits the body, and counts and logs each request.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		if !s.authorized(r) {
			sw.Header().Set("WWW-Authenticate", `Bearer realm="ideal"`)
			writeError(sw, http.StatusUnauthorized, "a valid bearer token is needed (Authorization: Bearer TOKEN)")
		} else {
			r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.MaxBody)
			next.ServeHTTP(sw, r)
		}
		route := r.Pattern
		if route == "" {
			route = "other"
		}
		if i := strings.IndexByte(route, ' '); i >= 0 {
			route = route[i+1:]
		}
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		d := time.Since(start)
		s.met.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		s.met.latency.WithLabelValues(route).Observe(d.Seconds())
		s.log.Info("request", "method", r.Method, "route", route, "path", r.URL.Path, "code", sw.code,
			"ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr)
	})
}

// authorized checks the bearer token (none needed without Config.Token, nor for the
// health probes).
func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.Token == "" || strings.HasPrefix(r.URL.Path, "/v2/health/") {
		return true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.Token)) == 1
}

// limiter lets at most n requests score at once and at most queue wait for a slot.
type limiter struct {
	slots   chan struct{}
	waiting chan struct{}
	met     *metrics
}

func newLimiter(n, queue int, m *metrics) *limiter {
	return &limiter{slots: make(chan struct{}, n), waiting: make(chan struct{}, n+queue), met: m}
}

// acquire takes a slot (waiting until ctx ends); errTooBusy when the queue is full.
// release gives it back.
func (l *limiter) acquire(ctx context.Context) (release func(), err error) {
	select {
	case l.waiting <- struct{}{}:
	default:
		l.met.rejected.Inc()
		return nil, errTooBusy
	}
	l.met.queue.Inc()
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		l.met.queue.Dec()
		<-l.waiting
		return nil, ctx.Err()
	}
	l.met.queue.Dec()
	l.met.inFlight.Inc()
	return func() {
		l.met.inFlight.Dec()
		<-l.slots
		<-l.waiting
	}, nil
}

// waitingNow is the number of requests holding or waiting for a slot.
func (l *limiter) waitingNow() int { return len(l.waiting) }
