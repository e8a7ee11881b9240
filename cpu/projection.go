package cpu

import (
	"math"

	"github.com/ideal-fsad/ideal/kernels"
)

// Projection implements kernels.Backend with two GEMMs (coefficients d Tᵀ, then the
// projection coef·T) and a parallel pass for the normalised distance.
func (be *Backend) Projection(dst, d, tstar kernels.Tensor) {
	n, c, m := kernels.CheckProjection(dst, d, tstar)
	Dv, T, O := raw(d), raw(tstar), out(dst)
	bufp := bigPool.Get().(*[]float32)
	defer bigPool.Put(bufp)
	buf := grow(bufp, n*m+n*c)
	coef, P := buf[:n*m], buf[n*m:]
	be.gemm(&gemmArgs{m: n, n: m, k: c, a: Dv, lda: c, b: T, ldb: c, transB: true, c: coef, ldc: m})
	be.gemm(&gemmArgs{m: n, n: c, k: m, a: coef, lda: m, b: T, ldb: c, c: P, ldc: c})
	units, per := rowChunks(n, c, 16384)
	be.parallel(units, func(u int, _ *scratch) {
		for i := u * per; i < min(n, (u+1)*per); i++ {
			row, p := Dv[i*c:(i+1)*c], P[i*c:(i+1)*c]
			var dn, pn float64
			for j := range row {
				dn += float64(row[j]) * float64(row[j])
				pn += float64(p[j]) * float64(p[j])
			}
			dn, pn = math.Max(math.Sqrt(dn), 1e-12), math.Max(math.Sqrt(pn), 1e-12)
			var dist float64
			for j := range row {
				x := float64(row[j])/dn - float64(p[j])/pn
				dist += x * x
			}
			O[i] = float32(1 - math.Sqrt(dist)/2)
		}
	})
}
