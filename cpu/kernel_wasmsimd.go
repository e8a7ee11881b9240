//go:build wasm && goexperiment.simd && !noasm

package cpu

import (
	"simd/archsimd"
	"unsafe"
)

// simdKernel is the WebAssembly SIMD128 path (Go 1.27's simd/archsimd, built with
// GOEXPERIMENT=simd): a 4×12 register-blocked GEMM micro-kernel (12 Float32x4
// accumulators, three B vectors and one broadcast A value: the 16 vector registers
// Go's wasm back end allocates) and vector exp, GELU, LayerNorm and friends
// (vecmath_wasmsimd.go). wasm has no fused multiply-add here: archsimd emits Mul then
// Add, so results differ from the pure-Go path by rounding only.
var simdKernel = microKernel{name: "wasm-simd128", mr: 4, nr: 12, kcMax: 384, keyBlock: 192,
	fn: kern4x12, fnRowA: kern4x12r,
	gelu: geluSIMD, expShiftSum: expShiftSumSIMD, max: maxSIMD, add: addSIMD, mul: mulSIMD,
	layerNorm: layerNormRowSIMD, dot64: dot64SIMD, axpy64: axpy64SIMD}

// bestKernel is the SIMD128 micro-kernel on this build.
func bestKernel() *microKernel { return &simdKernel }

// WithAVX2 has no effect on this build.
func WithAVX2() Option { return func(*Backend) {} }

func ld4(p unsafe.Pointer, off uintptr) archsimd.Float32x4 {
	return archsimd.LoadFloat32x4Array((*[4]float32)(unsafe.Add(p, off)))
}

func bc4(p unsafe.Pointer, off uintptr) archsimd.Float32x4 {
	return archsimd.BroadcastFloat32x4(*(*float32)(unsafe.Add(p, off)))
}

// tile4x12 holds the 12 accumulators of one 4×12 tile.
type tile4x12 struct {
	c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32 archsimd.Float32x4
}

// store writes (or adds, with acc) the tile to c, row stride ldc; the caller has
// checked that c holds the whole tile.
func (t *tile4x12) store(c []float32, ldc int, acc bool) {
	rows := [4][3]*archsimd.Float32x4{{&t.c00, &t.c01, &t.c02}, {&t.c10, &t.c11, &t.c12}, {&t.c20, &t.c21, &t.c22}, {&t.c30, &t.c31, &t.c32}}
	for r, row := range rows {
		for j, v := range row {
			dst := (*[4]float32)(c[r*ldc+4*j : r*ldc+4*j+4])
			if acc {
				*v = v.Add(archsimd.LoadFloat32x4Array(dst))
			}
			v.StoreArray(dst)
		}
	}
}

// kern4x12 is the micro-kernel on a packed A panel (kc×4) and B panel (kc×12).
func kern4x12(kc int, a, b, c []float32, ldc int, acc bool) {
	_ = c[3*ldc+11]
	if kc == 0 {
		zeroTile(c, ldc, 4, 12, acc)
		return
	}
	_, _ = a[kc*4-1], b[kc*12-1]
	var t tile4x12
	c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32 := t.c00, t.c01, t.c02, t.c10, t.c11, t.c12, t.c20, t.c21, t.c22, t.c30, t.c31, t.c32
	pa, pb := unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0])
	for range kc {
		b0, b1, b2 := ld4(pb, 0), ld4(pb, 16), ld4(pb, 32)
		x := bc4(pa, 0)
		c00, c01, c02 = c00.Add(x.Mul(b0)), c01.Add(x.Mul(b1)), c02.Add(x.Mul(b2))
		x = bc4(pa, 4)
		c10, c11, c12 = c10.Add(x.Mul(b0)), c11.Add(x.Mul(b1)), c12.Add(x.Mul(b2))
		x = bc4(pa, 8)
		c20, c21, c22 = c20.Add(x.Mul(b0)), c21.Add(x.Mul(b1)), c22.Add(x.Mul(b2))
		x = bc4(pa, 12)
		c30, c31, c32 = c30.Add(x.Mul(b0)), c31.Add(x.Mul(b1)), c32.Add(x.Mul(b2))
		pa, pb = unsafe.Add(pa, 16), unsafe.Add(pb, 48)
	}
	t = tile4x12{c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32}
	t.store(c, ldc, acc)
}

// kern4x12r is kern4x12 reading A in place from four rows of stride lda.
func kern4x12r(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool) {
	_ = c[3*ldc+11]
	if kc == 0 {
		zeroTile(c, ldc, 4, 12, acc)
		return
	}
	_, _ = a[3*lda+kc-1], b[kc*12-1]
	var t tile4x12
	c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32 := t.c00, t.c01, t.c02, t.c10, t.c11, t.c12, t.c20, t.c21, t.c22, t.c30, t.c31, t.c32
	pa, pb := unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0])
	s := uintptr(lda) * 4
	for range kc {
		b0, b1, b2 := ld4(pb, 0), ld4(pb, 16), ld4(pb, 32)
		x := bc4(pa, 0)
		c00, c01, c02 = c00.Add(x.Mul(b0)), c01.Add(x.Mul(b1)), c02.Add(x.Mul(b2))
		x = bc4(pa, s)
		c10, c11, c12 = c10.Add(x.Mul(b0)), c11.Add(x.Mul(b1)), c12.Add(x.Mul(b2))
		x = bc4(pa, 2*s)
		c20, c21, c22 = c20.Add(x.Mul(b0)), c21.Add(x.Mul(b1)), c22.Add(x.Mul(b2))
		x = bc4(pa, 3*s)
		c30, c31, c32 = c30.Add(x.Mul(b0)), c31.Add(x.Mul(b1)), c32.Add(x.Mul(b2))
		pa, pb = unsafe.Add(pa, 4), unsafe.Add(pb, 48)
	}
	t = tile4x12{c00, c01, c02, c10, c11, c12, c20, c21, c22, c30, c31, c32}
	t.store(c, ldc, acc)
}
