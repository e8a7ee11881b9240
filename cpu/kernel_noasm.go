//go:build noasm || !(amd64 || arm64 || (wasm && goexperiment.simd))

package cpu

// bestKernel is the pure-Go micro-kernel on this build.
func bestKernel() *microKernel { return &pureKernel }

// WithAVX2 has no effect on this build (no assembly).
func WithAVX2() Option { return func(*Backend) {} }
