//go:build js && wasm

package head

import (
	"testing"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/webgpu/webgputest"
)

// TestFixtureWebGPU runs the fixture on the WebGPU backend with the CPU's bounds
// (skipped without a WebGPU adapter, as in Node; see webgputest). The browser run is
// internal/wasmbrowser's TestWebGPUFixturesInChromium.
func TestFixtureWebGPU(t *testing.T) {
	b := webgputest.New(t)
	f := loadFixture(t)
	checkFixture(t, f, imaging.PatchMask(f.abnMask, 14), b)
	webgputest.LogRuns(t, b)
}
