//go:build amd64 && !noasm

package cpu

import "golang.org/x/sys/cpu"

// kern6x16 is the AVX2+FMA micro-kernel (kernel_amd64.s).
//
//go:noescape
func kern6x16(kc int, a, b, c *float32, ldc int, acc bool)

var avx2Kernel = microKernel{name: "avx2", mr: 6, nr: 16, gelu: geluVec, expShiftSum: expShiftSumVec, fn: func(kc int, a, b, c []float32, ldc int, acc bool) {
	// Bounds the assembly relies on.
	_ = c[5*ldc+15]
	if kc == 0 {
		if !acc {
			for r := range 6 {
				clear(c[r*ldc : r*ldc+16])
			}
		}
		return
	}
	_, _ = a[kc*6-1], b[kc*16-1]
	kern6x16(kc, &a[0], &b[0], &c[0], ldc, acc)
}}

// hasAVX2 reports whether the CPU (and OS) support AVX2 and FMA.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// bestKernel returns the AVX2+FMA micro-kernel when the CPU has both, else the
// pure-Go one.
func bestKernel() *microKernel {
	if hasAVX2 {
		return &avx2Kernel
	}
	return &pureKernel
}
