//go:build js && wasm

package dinov2

import (
	"testing"

	"github.com/ideal-fsad/ideal/webgpu/webgputest"
)

// TestFixtureWebGPU runs the dinov2-tiny fixture on the WebGPU backend with the
// CPU's bounds (skipped without a WebGPU adapter, as in Node; see webgputest). The
// browser run is internal/wasmbrowser's TestWebGPUFixturesInChromium.
func TestFixtureWebGPU(t *testing.T) {
	b := webgputest.New(t)
	testFixture(t, b)
	webgputest.LogRuns(t, b)
}
