package cpu

import (
	"fmt"
	"sync"
)

// Gemm computes C = alpha·op(A)·op(B) + beta·C on row-major float32 slices with
// leading dimensions, where op(A) is [m,k] (A is [k,m] when transA) and op(B) is
// [k,n] (B is [n,k] when transB), on the packed micro-kernels of the backend's
// path and its threads. With beta = 0, C is only written (NaNs in it do not
// propagate). C must not overlap A or B. Results do not depend on the number of
// threads.
func (be *Backend) Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleRows(c, m, n, ldc, beta) // alpha·0 + beta·C
		return
	}
	g := &gemmArgs{m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, transB: transB, c: c, ldc: ldc}
	if transA {
		bufp := bigPool.Get().(*[]float32)
		defer bigPool.Put(bufp)
		at := grow(bufp, m*k)
		transpose(at, a, k, m, lda)
		g.a, g.lda = at, k
	}
	switch {
	case beta == 0:
	case alpha == 1:
		if beta != 1 {
			scaleRows(c, m, n, ldc, beta)
		}
		g.res, g.ldr = c, ldc // the aliased residual: C += A·B
	default:
		tmp := make([]float32, m*n)
		g.c, g.ldc = tmp, n
		be.gemm(g)
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			for j, v := range tmp[i*n : (i+1)*n] {
				row[j] = beta*row[j] + alpha*v
			}
		}
		return
	}
	be.gemm(g)
	if alpha != 1 && beta == 0 {
		scaleRows(c, m, n, ldc, alpha)
	}
}

var (
	defaultOnce    sync.Once
	defaultBackend *Backend
)

// Gemm is Backend.Gemm on a shared backend with the default threads and path.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	defaultOnce.Do(func() { defaultBackend = New() })
	defaultBackend.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmNaive is Gemm's reference: the triple loop, accumulating in float64.
func GemmNaive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			v := alpha * float32(s)
			if beta != 0 {
				v += beta * c[i*ldc+j]
			}
			c[i*ldc+j] = v
		}
	}
}

// checkGemm panics when a slice is too short for its dimensions.
func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	for _, x := range []struct {
		name     string
		s        []float32
		r, c, ld int
	}{{"A", a, ar, ac, lda}, {"B", b, br, bc, ldb}, {"C", c, m, n, ldc}} {
		if x.r < 0 || x.c < 0 || x.ld < max(1, x.c) || (x.r > 0 && x.c > 0 && len(x.s) < (x.r-1)*x.ld+x.c) {
			panic(fmt.Sprintf("cpu: Gemm %s: %d values for %d×%d with leading dimension %d", x.name, len(x.s), x.r, x.c, x.ld))
		}
	}
}

// transpose writes the [cols, rows] transpose of src ([rows, cols], leading
// dimension ld) into dst, in cache blocks.
func transpose(dst, src []float32, rows, cols, ld int) {
	const bs = 32
	for i0 := 0; i0 < rows; i0 += bs {
		for j0 := 0; j0 < cols; j0 += bs {
			for i := i0; i < min(i0+bs, rows); i++ {
				row := src[i*ld : i*ld+cols]
				for j := j0; j < min(j0+bs, cols); j++ {
					dst[j*rows+i] = row[j]
				}
			}
		}
	}
}

// scaleRows multiplies C by s (s = 0 clears it).
func scaleRows(c []float32, m, n, ldc int, s float32) {
	for i := range m {
		if s == 0 {
			clear(c[i*ldc : i*ldc+n])
			continue
		}
		for j := range c[i*ldc : i*ldc+n] {
			c[i*ldc+j] *= s
		}
	}
}
