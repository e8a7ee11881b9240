//go:build cgo && !js

package head

import (
	"errors"
	"os"
	"testing"

	"github.com/ideal-fsad/ideal/gpu"
	"github.com/ideal-fsad/ideal/imaging"
)

// TestFixtureGPU runs the fixture on the OpenGL backend. Without a GL 4.3 context it
// skips, unless IDEAL_REQUIRE_GPU=1 (CI under Xvfb) makes that a failure.
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
	f := loadFixture(t)
	checkFixture(t, f, imaging.PatchMask(f.abnMask, 14), be)
}
