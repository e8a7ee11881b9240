package cpu

import (
	"math"

	"github.com/ideal-fsad/ideal/kernels"
)

// LayerNorm implements kernels.Backend: two passes per row (mean, then squared
// deviations), rows in parallel.
func (be *Backend) LayerNorm(dst, x, gamma, beta kernels.Tensor, eps float32) {
	m, c := kernels.CheckLayerNorm(dst, x, gamma, beta)
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
