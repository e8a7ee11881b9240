//go:build wasm && goexperiment.simd && !noasm

package cpu

// guardKernels are the WebAssembly micro-kernels (kernel_wasm.s), called directly
// and through the microKernel wrappers (the guard tests are in asm_guard_test.go).
func guardKernels() []guardKern {
	return []guardKern{
		{"kern3x12wasm", 3, 12, false, true, func(kc int, a []float32, _ int, b, c []float32, ldc int, acc bool) {
			kern3x12wasm(kc, &a[0], &b[0], &c[0], ldc, acc)
		}},
		{"kern3x12rwasm", 3, 12, true, true, func(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
			kern3x12rwasm(kc, &a[0], lda, &b[0], &c[0], ldc, acc)
		}},
		{"simd.fn", 3, 12, false, true, func(kc int, a []float32, _ int, b, c []float32, ldc int, acc bool) {
			simdKernel.fn(kc, a, b, c, ldc, acc)
		}},
		{"simd.fnRowA", 3, 12, true, true, simdKernel.fnRowA},
	}
}
