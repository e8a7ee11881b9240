//go:build amd64 && !noasm

package cpu

// bestKernel returns the AVX2+FMA micro-kernel when the CPU has both, else the
// pure-Go one.
func bestKernel() *microKernel { return &pureKernel }
