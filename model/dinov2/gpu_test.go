//go:build cgo && !js

package dinov2

import (
	"testing"

	"github.com/ideal-fsad/ideal/gpu/gputest"
)

// TestFixtureGPU runs the dinov2-tiny fixture on the OpenGL backend with the CPU's
// bounds (skipped without a GL 4.3 context; see gputest).
func TestFixtureGPU(t *testing.T) {
	testFixture(t, gputest.New(t))
}
