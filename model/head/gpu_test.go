//go:build cgo && !js

package head

import (
	"testing"

	"github.com/ideal-fsad/ideal/gpu/gputest"
	"github.com/ideal-fsad/ideal/imaging"
)

// TestFixtureGPU runs the fixture on the OpenGL backend (skipped without a GL 4.3
// context; see gputest).
func TestFixtureGPU(t *testing.T) {
	be := gputest.New(t)
	f := loadFixture(t)
	checkFixture(t, f, imaging.PatchMask(f.abnMask, 14), be)
}
