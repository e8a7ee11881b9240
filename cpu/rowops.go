package cpu

import (
	"math"

	"github.com/ideal-fsad/ideal/kernels"
)

// rowChunks splits m rows into units of about minWork elements for parallel.
func rowChunks(m, cols, minWork int) (units, per int) {
	per = max(1, minWork/max(1, cols))
	return (m + per - 1) / per, per
}

// LayerNorm implements kernels.Backend: two passes per row (mean, then squared
// deviations), rows in parallel.
func (be *Backend) LayerNorm(dst, x, gamma, beta kernels.Tensor, eps float32) {
	m, c := kernels.Rows(x), kernels.Cols(x)
	kernels.Check(kernels.Numel(dst) == m*c && kernels.Numel(gamma) == c && kernels.Numel(beta) == c, "LayerNorm",
		"dst %v x %v gamma %v beta %v", dst.Shape(), x.Shape(), gamma.Shape(), beta.Shape())
	X, D, g, bt := raw(x), out(dst), raw(gamma), raw(beta)
	units, per := rowChunks(m, c, 16384)
	be.parallel(units, func(u int, _ *scratch) {
		for i := u * per; i < min(m, (u+1)*per); i++ {
			be.kern.layerNorm(D[i*c:(i+1)*c], X[i*c:(i+1)*c], g, bt, eps)
		}
	})
}

// layerNormRow normalises one row: two passes (mean, then squared deviations)
// accumulated in float64.
func layerNormRow(out, row, g, bt []float32, eps float32) {
	c := len(row)
	var s float64
	for _, v := range row {
		s += float64(v)
	}
	mean := float32(s / float64(c))
	var v2 float64
	for _, v := range row {
		d := v - mean
		v2 += float64(d * d)
	}
	inv := float32(1 / math.Sqrt(v2/float64(c)+float64(eps)))
	out, g, bt = out[:c], g[:c], bt[:c]
	for j, v := range row {
		out[j] = (v-mean)*inv*g[j] + bt[j]
	}
}

// GELU implements kernels.Backend.
func (be *Backend) GELU(dst, x kernels.Tensor) {
	kernels.Check(kernels.Numel(dst) == kernels.Numel(x), "GELU", "dst %v x %v", dst.Shape(), x.Shape())
	D, X := out(dst), raw(x)
	const chunk = 16384
	be.parallel((len(X)+chunk-1)/chunk, func(u int, _ *scratch) {
		lo, hi := u*chunk, min(len(X), (u+1)*chunk)
		be.kern.gelu(D[lo:hi], X[lo:hi])
	})
}

// Softmax implements kernels.Backend.
func (be *Backend) Softmax(dst, x kernels.Tensor) {
	m, n := kernels.Rows(x), kernels.Cols(x)
	kernels.Check(kernels.Numel(dst) == m*n, "Softmax", "dst %v x %v", dst.Shape(), x.Shape())
	X, D := raw(x), out(dst)
	units, per := rowChunks(m, n, 16384)
	be.parallel(units, func(u int, _ *scratch) {
		for i := u * per; i < min(m, (u+1)*per); i++ {
			softmaxRow(be.kern, D[i*n:(i+1)*n], X[i*n:(i+1)*n])
		}
	})
}

// softmaxRow writes softmax(x) to dst (which may be x).
func softmaxRow(kern *microKernel, dst, x []float32) {
	if len(x) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x {
		mx = max(mx, v)
	}
	dst = dst[:len(x)]
	inv := 1 / kern.expShiftSum(dst, x, mx)
	for j := range dst {
		dst[j] *= inv
	}
}

// AddScaled implements kernels.Backend.
func (be *Backend) AddScaled(dst, a, b kernels.Tensor, s float32) {
	kernels.Check(kernels.Numel(dst) == kernels.Numel(a) && kernels.Numel(a) == kernels.Numel(b), "AddScaled",
		"dst %v a %v b %v", dst.Shape(), a.Shape(), b.Shape())
	D, A, B := out(dst), raw(a), raw(b)
	const chunk = 65536
	be.parallel((len(D)+chunk-1)/chunk, func(u int, _ *scratch) {
		lo, hi := u*chunk, min(len(D), (u+1)*chunk)
		d, x, y := D[lo:hi], A[lo:hi], B[lo:hi]
		for i := range d {
			d[i] = x[i] + s*y[i]
		}
	})
}

// CopyRows implements kernels.Backend.
func (be *Backend) CopyRows(dst kernels.Tensor, dstStart int, src kernels.Tensor, srcStart, n int) {
	c := kernels.CopyRowsDims(dst, dstStart, src, srcStart, n)
	copy(out(dst)[dstStart*c:(dstStart+n)*c], raw(src)[srcStart*c:(srcStart+n)*c])
}
