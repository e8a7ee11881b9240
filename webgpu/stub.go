//go:build !(js && wasm)

package webgpu

import (
	"context"
	"fmt"
	"runtime"
)

// Backend is the WebGPU backend; outside js/wasm it cannot be made.
type Backend struct{}

// New returns an error wrapping ErrUnavailable: WebGPU is reached only from the
// browser (GOOS=js GOARCH=wasm).
func New(ctx context.Context) (*Backend, error) {
	return nil, fmt.Errorf("%w: built for %s/%s, WebGPU needs js/wasm in a browser", ErrUnavailable, runtime.GOOS, runtime.GOARCH)
}
