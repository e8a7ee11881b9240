//go:build cgo && !js

package dinov2

import (
	"errors"
	"os"
	"testing"

	"github.com/ideal-fsad/ideal/gpu"
)

// TestFixtureGPU runs the dinov2-tiny fixture on the OpenGL backend with the CPU's
// bounds. Without a GL 4.3 context it skips, unless IDEAL_REQUIRE_GPU=1 (CI under
// Xvfb) makes that a failure.
func TestFixtureGPU(t *testing.T) {
	be, err := gpu.New()
	if err != nil {
		if os.Getenv("IDEAL_REQUIRE_GPU") == "1" || !errors.Is(err, gpu.ErrUnavailable) {
			t.Fatalf("gpu.New: %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	defer func() {
		if err := be.Close(); err != nil {
			t.Error(err)
		}
	}()
	testFixture(t, be)
}
