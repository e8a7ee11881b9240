//go:build !amd64 || noasm

package cpu

// bestKernel is the pure-Go micro-kernel on this build.
func bestKernel() *microKernel { return &pureKernel }
