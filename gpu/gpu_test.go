//go:build cgo && !js

package gpu

import (
	"os"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kerneltest"
)

// open returns a backend, or skips the test when no GL 4.3 context can be had
// (a failure instead with IDEAL_REQUIRE_GPU=1, as in CI under Xvfb).
func open(t *testing.T) *backend {
	t.Helper()
	b, err := New()
	if err != nil {
		if os.Getenv("IDEAL_REQUIRE_GPU") == "1" {
			t.Fatalf("IDEAL_REQUIRE_GPU=1: %v", err)
		}
		t.Skipf("skipping the GPU tests: %v", err)
	}
	t.Logf("backend %s", b.Name())
	return b.(*backend)
}

func TestParity(t *testing.T) {
	open(t).Close()
	kerneltest.RunAll(t, func() kernels.Backend {
		b, err := New()
		if err != nil { // it worked a moment ago
			panic(err)
		}
		return b
	})
}
