//go:build js && wasm

package webgputest

import (
	"context"
	"errors"
	"flag"
	"testing"

	"github.com/ideal-fsad/ideal/webgpu"
)

// require is -webgpu.require, registered by importing this package.
var require = flag.Bool("webgpu.require", false, "fail, not skip, when there is no WebGPU adapter")

// New returns a WebGPU backend that is closed (and its Close error reported) when
// the test ends, or skips/fails the test as the package comment says.
func New(t testing.TB) *webgpu.Backend {
	t.Helper()
	b, err := webgpu.New(context.Background())
	if err != nil {
		if *require || !errors.Is(err, webgpu.ErrUnavailable) {
			t.Fatalf("webgpu.New: %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Error(err)
		}
	})
	return b
}

// LogRuns logs where b's ops ran: the WGSL dispatches per op and the CPU fallbacks
// per op and reason.
func LogRuns(t testing.TB, b *webgpu.Backend) {
	t.Helper()
	fell := map[string]int{}
	for _, f := range b.Fallbacks() {
		fell[f]++
	}
	t.Logf("%s: WGSL dispatches %v; CPU fallbacks %v", b.Name(), b.Dispatches(), fell)
}
