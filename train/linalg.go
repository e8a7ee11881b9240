package train

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

func gen(d []float64, r, c int) blas64.General {
	return blas64.General{Rows: r, Cols: c, Stride: c, Data: d}
}

// linear computes y[n,out] = x[n,in] Wᵀ + b (W is [out,in]).
func linear(y, x []float64, n, in int, w, b []float64, out int) {
	for i := 0; i < n; i++ {
		copy(y[i*out:(i+1)*out], b)
	}
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, gen(x, n, in), gen(w, out, in), 1, gen(y, n, out))
}

// linearBack accumulates the gradients of y = x Wᵀ + b: dx += dy W (dx may be nil),
// dW += dyᵀ x, db += Σ_rows dy.
func linearBack(dx, dy, x []float64, n, in int, w, dw, db []float64, out int) {
	if dx != nil {
		blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, gen(dy, n, out), gen(w, out, in), 1, gen(dx, n, in))
	}
	blas64.Gemm(blas.Trans, blas.NoTrans, 1, gen(dy, n, out), gen(x, n, in), 1, gen(dw, out, in))
	for i := 0; i < n; i++ {
		for j, v := range dy[i*out : (i+1)*out] {
			db[j] += v
		}
	}
}

// layerNorm normalises each row of x [n,c] into y with gain g and bias b; it keeps
// x̂ and 1/σ per row for the backward pass.
func layerNorm(y, xhat, rstd, x []float64, n, c int, g, b []float64, eps float64) {
	for i := 0; i < n; i++ {
		row := x[i*c : (i+1)*c]
		var mu, v float64
		for _, a := range row {
			mu += a
		}
		mu /= float64(c)
		for _, a := range row {
			v += (a - mu) * (a - mu)
		}
		v /= float64(c)
		r := 1 / sqrt(v+eps)
		rstd[i] = r
		for j, a := range row {
			h := (a - mu) * r
			xhat[i*c+j] = h
			y[i*c+j] = h*g[j] + b[j]
		}
	}
}

// layerNormBack accumulates dx, dg, db from dy.
func layerNormBack(dx, dy, xhat, rstd []float64, n, c int, g, dg, db []float64) {
	dh := make([]float64, c)
	for i := 0; i < n; i++ {
		var m1, m2 float64
		for j := 0; j < c; j++ {
			d := dy[i*c+j]
			h := xhat[i*c+j]
			dg[j] += d * h
			db[j] += d
			dh[j] = d * g[j]
			m1 += dh[j]
			m2 += dh[j] * h
		}
		m1 /= float64(c)
		m2 /= float64(c)
		for j := 0; j < c; j++ {
			dx[i*c+j] += rstd[i] * (dh[j] - m1 - xhat[i*c+j]*m2)
		}
	}
}
