//go:build !unix

package kerneltest

// processCPUSeconds is unavailable here (js/wasm, windows): no CPU-time metrics.
func processCPUSeconds() float64 { return -1 }
