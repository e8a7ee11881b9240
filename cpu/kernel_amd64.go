//go:build amd64 && !noasm

package cpu

import "golang.org/x/sys/cpu"

// kern6x16 is the AVX2+FMA micro-kernel (kernel_amd64.s).
//
//go:noescape
func kern6x16(kc int, a, b, c *float32, ldc int, acc bool)

// kern6x16r is kern6x16 reading A in place from six rows of stride lda.
//
//go:noescape
func kern6x16r(kc int, a *float32, lda int, b, c *float32, ldc int, acc bool)

//go:noescape
func maxAVX2(x *float32, n int) float32

// maxVec is maxSlice with the AVX2 body.
func maxVec(x []float32) float32 {
	n := len(x) &^ 7
	if n == 0 {
		return maxSlice(x)
	}
	return max(maxAVX2(&x[0], n), maxSlice(x[n:]))
}

func kern6x16rGo(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
	_ = c[5*ldc+15]
	if kc == 0 {
		zeroTile(c, ldc, 6, 16, acc)
		return
	}
	_, _ = a[5*lda+kc-1], b[kc*16-1]
	kern6x16r(kc, &a[0], lda, &b[0], &c[0], ldc, acc)
}

var avx2Kernel = microKernel{name: "avx2", mr: 6, nr: 16, kcMax: 384, keyBlock: 256, gelu: geluVec, expShiftSum: expShiftSumVec, max: maxVec, add: addVec, mul: mulVec, layerNorm: layerNormRowVec, dot64: dot64Vec, axpy64: axpy64Vec, fnRowA: kern6x16rGo, fn: func(kc int, a, b, c []float32, ldc int, acc bool) {
	// Bounds the assembly relies on.
	_ = c[5*ldc+15]
	if kc == 0 {
		zeroTile(c, ldc, 6, 16, acc)
		return
	}
	_, _ = a[kc*6-1], b[kc*16-1]
	kern6x16(kc, &a[0], &b[0], &c[0], ldc, acc)
}}

// WithAVX2 forces the AVX2+FMA micro-kernel where the CPU has it (the default picks
// AVX-512 when available); elsewhere it leaves the choice unchanged.
func WithAVX2() Option {
	return func(b *Backend) {
		if hasAVX2 {
			b.kern = &avx2Kernel
		}
	}
}

// hasAVX2 reports whether the CPU (and OS) support AVX2 and FMA.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// bestKernel returns the widest micro-kernel the CPU supports: AVX-512, AVX2+FMA,
// else the pure-Go one.
func bestKernel() *microKernel {
	if hasAVX512 {
		return &avx512Kernel
	}
	if hasAVX2 {
		return &avx2Kernel
	}
	return &pureKernel
}
