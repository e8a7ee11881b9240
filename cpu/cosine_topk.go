package cpu

import (
	"math"

	"github.com/ideal-fsad/ideal/kernels"
)

// cosRowBlock is the number of rows of a whose similarity rows are held at once.
const cosRowBlock = 256

// normaliseRows writes x/max(‖x‖, 1e-12) row by row (norms in float64).
func (be *Backend) normaliseRows(dst, x []float32, c int) {
	n := len(x) / max(c, 1)
	units, per := rowChunks(n, c, 16384)
	be.parallel(units, func(u int, _ *scratch) {
		for i := u * per; i < min(n, (u+1)*per); i++ {
			row, out := x[i*c:(i+1)*c], dst[i*c:(i+1)*c]
			var s float64
			for _, v := range row {
				s += float64(v) * float64(v)
			}
			inv := float32(1 / max(math.Sqrt(s), 1e-12))
			for j, v := range row {
				out[j] = v * inv
			}
		}
	})
}

// CosineTopK implements kernels.Backend: rows of a and b are normalised, the
// similarities of a block of cosRowBlock rows of a against all of b come from the
// GEMM (b packed once for all blocks), and each row keeps a sorted top-k by
// insertion (later equal values go after earlier ones, so ties keep the lower
// index).
func (be *Backend) CosineTopK(vals, idx, a, b kernels.Tensor, k int) {
	na, nb, c := kernels.CheckCosineTopK(vals, idx, a, b, k)
	A, B, V, I := raw(a), raw(b), out(vals), out(idx)
	rb := min(cosRowBlock, na)
	bufp := bigPool.Get().(*[]float32)
	defer bigPool.Put(bufp)
	buf := grow(bufp, na*c+nb*c+rb*nb)
	an, bn, S := buf[:na*c], buf[na*c:na*c+nb*c], buf[na*c+nb*c:]
	be.normaliseRows(an, A, c)
	be.normaliseRows(bn, B, c)
	// B's panels are packed once for all row blocks.
	g := gemmArgs{n: nb, k: c, lda: c, b: bn, ldb: c, transB: true, c: S, ldc: nb}
	packp := bigPool.Get().(*[]float32)
	defer bigPool.Put(packp)
	g.packed = grow(packp, c*((nb+be.kern.nr-1)/be.kern.nr)*be.kern.nr)
	be.packAllB(g.packed, &g)
	for i0 := 0; i0 < na; i0 += rb {
		m := min(rb, na-i0)
		gb := g
		gb.m, gb.a = m, an[i0*c:]
		be.gemm(&gb)
		be.parallel(m, func(r int, s *scratch) {
			topK(S[r*nb:(r+1)*nb], V[(i0+r)*k:(i0+r+1)*k], I[(i0+r)*k:(i0+r+1)*k], s)
		})
	}
}

// topK writes the k = len(vals) largest values of row (descending, ties by lower
// index) and their indices.
func topK(row, vals, idx []float32, s *scratch) {
	k := len(vals)
	ix := grow64(&s.f64, k) // indices as float64: exact
	n := 0
	for j, v := range row {
		if n == k && !(v > vals[k-1]) {
			continue
		}
		pos := n
		if n < k {
			n++
		} else {
			pos = k - 1
		}
		for pos > 0 && vals[pos-1] < v {
			vals[pos], ix[pos] = vals[pos-1], ix[pos-1]
			pos--
		}
		vals[pos], ix[pos] = v, float64(j)
	}
	for t := range k {
		idx[t] = float32(ix[t])
	}
}
