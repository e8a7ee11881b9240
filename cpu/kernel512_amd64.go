//go:build amd64 && !noasm

package cpu

import "golang.org/x/sys/cpu"

// kern12x32 is the AVX-512 micro-kernel (kernel512_amd64.s).
//
//go:noescape
func kern12x32(kc int, a, b, c *float32, ldc int, acc bool)

// kern12x32r is kern12x32 reading A in place from twelve rows of stride lda.
//
//go:noescape
func kern12x32r(kc int, a *float32, lda int, b, c *float32, ldc int, acc bool)

// hasAVX512 reports whether the CPU and OS support AVX-512F (and AVX2+FMA for the
// vector exp/GELU used beside it).
var hasAVX512 = cpu.X86.HasAVX512F && hasAVX2

var avx512Kernel = microKernel{name: "avx512", mr: 12, nr: 32, kcMax: 256, keyBlock: 256,
	gelu: geluVec512, expShiftSum: expShiftSumVec512, max: maxVec, add: addVec, mul: mulVec, layerNorm: layerNormRowVec, dot64: dot64Vec, axpy64: axpy64Vec,
	fn: func(kc int, a, b, c []float32, ldc int, acc bool) {
		_ = c[11*ldc+31]
		if kc == 0 {
			zeroTile(c, ldc, 12, 32, acc)
			return
		}
		_, _ = a[kc*12-1], b[kc*32-1]
		kern12x32(kc, &a[0], &b[0], &c[0], ldc, acc)
	},
	fnRowA: func(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
		_ = c[11*ldc+31]
		if kc == 0 {
			zeroTile(c, ldc, 12, 32, acc)
			return
		}
		_, _ = a[11*lda+kc-1], b[kc*32-1]
		kern12x32r(kc, &a[0], lda, &b[0], &c[0], ldc, acc)
	},
}
