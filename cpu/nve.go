package cpu

import (
	"math"

	"github.com/ideal-fsad/ideal/kernels"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// NVE implements kernels.Backend. Each row is independent and computed in float64:
// softmax weights, centre μ, the weighted local deviations X (k×C), the k×k Gram
// matrix X Xᵀ, its leading r eigenpairs from gonum's symmetric eigensolver (LAPACK
// Dsyev through lapack64.Syev, the routine behind mat.EigenSym, called with per-worker
// workspace so the steady state does not allocate), and the projection removed from
// the residual.
func (be *Backend) NVE(dst, f, normals, vals, idx kernels.Tensor, r int, alpha float32) {
	na, nb, c, k := kernels.CheckNVE(dst, f, normals, vals, idx, r)
	F, Nr, Vv, Iv, D := raw(f), raw(normals), raw(vals), raw(idx), out(dst)
	kernels.Check(!sameStart(D, F), "NVE", "dst aliases f")
	for _, j := range Iv {
		if !(j >= 0 && int(j) < nb && float32(int(j)) == j) { // (no boxing in the loop)
			kernels.Check(false, "NVE", "neighbour index %g outside [0, %d)", j, nb)
		}
	}
	be.parallel(na, func(i int, s *scratch) {
		nveRow(be.kern, s, D[i*c:(i+1)*c], F[i*c:(i+1)*c], Nr, Vv[i*k:(i+1)*k], Iv[i*k:(i+1)*k], r, alpha)
	})
}

// nveRow writes into out the NVE of one feature row fr, given the similarities vr and
// the indices ir (into the normal rows Nr) of its k neighbours, using the worker's
// float64 scratch.
func nveRow(kern *microKernel, s *scratch, out, fr, Nr, vr, ir []float32, r int, alpha float32) {
	k, c := len(vr), len(fr)
	lwork := (64 + 2) * k
	buf := grow64(&s.f64, k+c+k*c+k*k+2*c+k+lwork)
	w, mu, X, G, e, u := buf[:k], buf[k:k+c], buf[k+c:k+c+k*c], buf[k+c+k*c:k+c+k*c+k*k], buf[k+c+k*c+k*k:k+c+k*c+k*k+c], buf[k+c+k*c+k*k+c:k+c+k*c+k*k+2*c]
	lam, work := buf[k+c+k*c+k*k+2*c:k+c+k*c+k*k+2*c+k], buf[k+c+k*c+k*k+2*c+k:]
	neighbourDeviations(kern, w, mu, X, Nr, vr, ir)
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
			sum := kern.dot64(X[a*c:(a+1)*c], X[b*c:(b+1)*c])
			G[a*k+b], G[b*k+a] = sum, sum
		}
	}
	// Eigenvalues ascending into lam, eigenvectors into the columns of G.
	if !lapack64.Syev(lapack.EVCompute, blas64.Symmetric{N: k, Stride: k, Data: G, Uplo: blas.Upper}, lam, work, lwork) {
		panic("cpu: NVE: eigen-decomposition did not converge") // not for a finite symmetric matrix
	}
	res := u // e − α·U Uᵀ e, accumulated from e
	copy(res, e)
	removeLeading(kern, res, mu, e, X, G, lam, r, alpha) // μ is no longer needed: its memory holds u_l
	for d := range out {
		out[d] = float32(res[d])
	}
}

// neighbourDeviations computes the softmax weights w of the similarities vr, the
// weighted centre mu of the neighbours (rows ir of Nr) and, into X (k×C), their
// deviations from it scaled by √w.
func neighbourDeviations(kern *microKernel, w, mu, X []float64, Nr, vr, ir []float32) {
	k, c := len(w), len(mu)
	mx := math.Inf(-1)
	for _, v := range vr {
		mx = math.Max(mx, float64(v))
	}
	var z float64
	for t, v := range vr {
		w[t] = math.Exp(float64(v) - mx)
		z += w[t]
	}
	for t := range k { // the neighbours in float64
		xt := X[t*c : (t+1)*c]
		for d, v := range Nr[int(ir[t])*c : (int(ir[t])+1)*c] {
			xt[d] = float64(v)
		}
	}
	clear(mu)
	for t := range k {
		w[t] /= z
		kern.axpy64(mu, X[t*c:(t+1)*c], w[t])
	}
	for t := range k {
		sw := math.Sqrt(w[t])
		xt := X[t*c : (t+1)*c]
		for d := range xt {
			xt[d] = sw * (xt[d] - mu[d])
		}
	}
}

// removeLeading subtracts from res α·(u_l·e)·u_l for the r leading principal
// directions u_l of X (k×C): u_l is Xᵀ times the eigenvector of X Xᵀ in column k−1−l
// of G (eigenvalues ascending in lam), normalised. ul is workspace of C values.
func removeLeading(kern *microKernel, res, ul, e, X, G, lam []float64, r int, alpha float32) {
	k, c := len(lam), len(e)
	for l := range r {
		col := k - 1 - l
		sc := 1 / math.Sqrt(math.Max(lam[col], 0)+1e-8)
		// ul = normalise(Xᵀ v · sc); the scale cancels in the normalisation except
		// for its clamp at 1e-12, kept for parity with the reference.
		clear(ul)
		for t := range k {
			kern.axpy64(ul, X[t*c:(t+1)*c], G[t*k+col]*sc)
		}
		nrm := math.Max(math.Sqrt(kern.dot64(ul, ul)), 1e-12)
		for d := range ul {
			ul[d] /= nrm
		}
		kern.axpy64(res, ul, -float64(alpha)*kern.dot64(ul, e))
	}
}
