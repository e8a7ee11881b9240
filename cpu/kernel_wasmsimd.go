//go:build wasm && goexperiment.simd && !noasm

package cpu

//go:generate sh -c "go run gen_wasm_kernel.go > kernel_wasm.s"

// simdKernel is the WebAssembly SIMD128 path (built with GOEXPERIMENT=simd): a 3×12
// register-blocked GEMM micro-kernel in Go's wasm assembly (kernel_wasm.s, written by
// gen_wasm_kernel.go) and vector exp, GELU, LayerNorm and friends on Go 1.27's
// simd/archsimd (vecmath_wasmsimd.go). WebAssembly SIMD has no fused multiply-add
// (relaxed SIMD's is not portable), so products are rounded before they are added.
var simdKernel = microKernel{name: "wasm-simd128", mr: 3, nr: 12, kcMax: 384, keyBlock: 192,
	fn: kern3x12, fnRowA: kern3x12r,
	gelu: geluSIMD, expShiftSum: expShiftSumSIMD, max: maxSIMD, add: addSIMD, mul: mulSIMD,
	layerNorm: layerNormRowSIMD, dot64: dot64SIMD, axpy64: axpy64SIMD}

// bestKernel is the SIMD128 micro-kernel on this build.
func bestKernel() *microKernel { return &simdKernel }

// WithAVX2 has no effect on this build.
func WithAVX2() Option { return func(*Backend) {} }

//go:noescape
func kern3x12wasm(kc int, a, b, c *float32, ldc int, acc bool)

//go:noescape
func kern3x12rwasm(kc int, a *float32, lda int, b, c *float32, ldc int, acc bool)

// kern3x12 is the micro-kernel on a packed A panel (kc×3) and B panel (kc×12).
func kern3x12(kc int, a, b, c []float32, ldc int, acc bool) {
	_ = c[2*ldc+11] // bounds the assembly relies on
	if kc == 0 {
		zeroTile(c, ldc, 3, 12, acc)
		return
	}
	_, _ = a[kc*3-1], b[kc*12-1]
	kern3x12wasm(kc, &a[0], &b[0], &c[0], ldc, acc)
}

// kern3x12r is kern3x12 reading A in place from three rows of stride lda.
func kern3x12r(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
	_ = c[2*ldc+11]
	if kc == 0 {
		zeroTile(c, ldc, 3, 12, acc)
		return
	}
	_, _ = a[2*lda+kc-1], b[kc*12-1]
	kern3x12rwasm(kc, &a[0], lda, &b[0], &c[0], ldc, acc)
}
