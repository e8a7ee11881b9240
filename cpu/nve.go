package cpu

import (
	"math"

	"github.com/ideal-fsad/ideal/kernels"
	"gonum.org/v1/gonum/mat"
)

// NVE implements kernels.Backend. Each row is independent and computed in float64:
// softmax weights, centre μ, the weighted local deviations X (k×C), the k×k Gram
// matrix X Xᵀ, its leading r eigenpairs from gonum's EigenSym, and the projection
// removed from the residual.
func (be *Backend) NVE(dst, f, normals, vals, idx kernels.Tensor, r int, alpha float32) {
	na, nb, c, k := kernels.NVEDims(dst, f, normals, vals, idx, r)
	F, Nr, Vv, Iv, D := raw(f), raw(normals), raw(vals), raw(idx), raw(dst)
	kernels.Check(!sameStart(D, F), "NVE", "dst aliases f")
	for _, j := range Iv {
		kernels.Check(j >= 0 && int(j) < nb && float32(int(j)) == j, "NVE", "neighbour index %g outside [0, %d)", j, nb)
	}
	be.parallel(na, func(i int, s *scratch) {
		buf := grow64(&s.f64, k+c+k*c+k*k+2*c)
		w, mu, X, G, e, u := buf[:k], buf[k:k+c], buf[k+c:k+c+k*c], buf[k+c+k*c:k+c+k*c+k*k], buf[k+c+k*c+k*k:k+c+k*c+k*k+c], buf[k+c+k*c+k*k+c:]
		vr, ir := Vv[i*k:(i+1)*k], Iv[i*k:(i+1)*k]
		mx := math.Inf(-1)
		for _, v := range vr {
			mx = math.Max(mx, float64(v))
		}
		var z float64
		for t, v := range vr {
			w[t] = math.Exp(float64(v) - mx)
			z += w[t]
		}
		clear(mu)
		for t := range k {
			w[t] /= z
			row := Nr[int(ir[t])*c : (int(ir[t])+1)*c]
			for d, v := range row {
				mu[d] += w[t] * float64(v)
			}
		}
		for t := range k {
			row := Nr[int(ir[t])*c : (int(ir[t])+1)*c]
			sw := math.Sqrt(w[t])
			xt := X[t*c : (t+1)*c]
			for d, v := range row {
				xt[d] = sw * (float64(v) - mu[d])
			}
		}
		fr, out := F[i*c:(i+1)*c], D[i*c:(i+1)*c]
		for d, v := range fr {
			e[d] = float64(v) - mu[d]
		}
		if r == 0 {
			for d := range out {
				out[d] = float32(e[d])
			}
			return
		}
		for a := range k {
			for b := a; b < k; b++ {
				var sum float64
				xa, xb := X[a*c:(a+1)*c], X[b*c:(b+1)*c]
				for d := range xa {
					sum += xa[d] * xb[d]
				}
				G[a*k+b], G[b*k+a] = sum, sum
			}
		}
		var es mat.EigenSym
		if !es.Factorize(mat.NewSymDense(k, G), true) {
			panic("cpu: NVE: eigen-decomposition did not converge") // cannot happen for a finite symmetric matrix
		}
		lam := es.Values(nil) // ascending
		var vec mat.Dense
		es.VectorsTo(&vec)
		for d := range e {
			u[d] = e[d] // u is reused below; out accumulates in e's copy
		}
		res := u
		for l := range r {
			col := k - 1 - l
			sc := 1 / math.Sqrt(math.Max(lam[col], 0)+1e-8)
			// ul = normalise(Xᵀ v · sc); the scale cancels in the normalisation except
			// for its clamp at 1e-12, kept for parity with the reference.
			var nrm, dot float64
			ul := mu // μ is no longer needed: reuse it for u_l
			clear(ul)
			for t := range k {
				vt := vec.At(t, col) * sc
				xt := X[t*c : (t+1)*c]
				for d := range ul {
					ul[d] += xt[d] * vt
				}
			}
			for _, x := range ul {
				nrm += x * x
			}
			nrm = math.Max(math.Sqrt(nrm), 1e-12)
			for d := range ul {
				ul[d] /= nrm
				dot += ul[d] * e[d]
			}
			for d := range res {
				res[d] -= float64(alpha) * dot * ul[d]
			}
		}
		for d := range out {
			out[d] = float32(res[d])
		}
	})
}
