package cpu

import "github.com/ideal-fsad/ideal/kernels"

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
