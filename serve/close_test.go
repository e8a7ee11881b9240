package serve

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

// storedState is a state folder holding n profiles of the fixture.
func storedState(t *testing.T, n int) string {
	t.Helper()
	f := getFixture(t)
	dir := t.TempDir()
	st, err := openStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		u := &upload{spec: Spec{Name: string(rune('a' + i)), Backbone: "backbone.safetensors", Head: "head.safetensors", Size: size, Threshold: 0.5},
			normal: [][]byte{f.normal}, abnormal: [][]byte{f.abnormal}, masks: [][]byte{f.mask}}
		if _, err := st.save(u); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestServeCloseDuringLoad closes the server at several moments of a Load running in
// the background: Close waits for it, Load stops, nothing stays loaded (go test -race).
func TestServeCloseDuringLoad(t *testing.T) {
	state := storedState(t, 3)
	for _, delay := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond} {
		s, err := New(Config{State: state, Weights: getFixture(t).weights, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- s.Load(context.Background()) }()
		time.Sleep(delay)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil && !errors.Is(err, errClosed) {
			t.Fatalf("delay %v: Load: %v", delay, err)
		}
		s.mu.RLock()
		n, d := len(s.profiles), len(s.dets)
		s.mu.RUnlock()
		if n != 0 || d != 0 {
			t.Fatalf("delay %v: %d profiles and %d detectors left after Close", delay, n, d)
		}
		if err := s.Load(context.Background()); !errors.Is(err, errClosed) {
			t.Fatalf("Load after Close: %v", err)
		}
	}
}

// TestServeStopDuringLoad stops Serve while it is loading the stored profiles.
func TestServeStopDuringLoad(t *testing.T) {
	state := storedState(t, 3)
	s, err := New(Config{State: state, Weights: getFixture(t).weights, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := Listen("127.0.0.1:0", false, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	time.Sleep(2 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
