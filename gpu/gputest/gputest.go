// Package gputest gives tests outside package gpu an OpenGL backend with the project's
// policy: without a GL 4.3 context the test is skipped, unless IDEAL_REQUIRE_GPU=1 (CI
// under Xvfb) makes that a failure; any error other than gpu.ErrUnavailable fails.
package gputest

import (
	"errors"
	"os"
	"testing"

	"github.com/ideal-fsad/ideal/gpu"
	"github.com/ideal-fsad/ideal/kernels"
)

// New returns a GPU backend that is closed (and its Close error reported) when the
// test ends, or skips/fails the test as the package comment says.
func New(t testing.TB) kernels.Backend {
	t.Helper()
	be, err := gpu.New()
	if err != nil {
		if os.Getenv("IDEAL_REQUIRE_GPU") == "1" || !errors.Is(err, gpu.ErrUnavailable) {
			t.Fatalf("gpu.New: %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	t.Cleanup(func() {
		if err := be.Close(); err != nil {
			t.Error(err)
		}
	})
	return be
}
