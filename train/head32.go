package train

import (
	"math"
)

// project computes the projection score s_a of every query patch into w.sa (as
// projectionScore): coef = D T*ᵀ, d̃ = coef T* by GEMM, the norms and distances in
// float64.
func (w *ws32) project(c, m int) {
	n, ts := w.n, w.out
	w.gemm(false, true, n, m, c, 1, w.dev, c, ts, c, 0, w.coef, m)
	w.gemm(false, false, n, c, m, 1, w.coef, m, ts, c, 0, w.pr, c)
	rowsParallel(n, w.be.Threads(), func(i int) {
		d, q := w.dev[i*c:(i+1)*c], w.pr[i*c:(i+1)*c]
		dn, pn := max(norm32(d), 1e-12), max(norm32(q), 1e-12)
		var sq float64
		for j, x := range d {
			y := float64(x)/dn - float64(q[j])/pn
			sq += y * y
		}
		w.dn[i], w.pn[i], w.dist[i] = dn, pn, math.Sqrt(sq)
		w.sa[i] = 1 - w.dist[i]/2
	})
}

// rowsParallel runs fn(i) for every row i in [0, n) on up to threads goroutines,
// in chunks of 64 rows.
func rowsParallel(n, threads int, fn func(i int)) {
	const per = 64
	parallelFor((n+per-1)/per, threads, func(u int) {
		for i := u * per; i < min((u+1)*per, n); i++ {
			fn(i)
		}
	})
}

func norm32(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// projectBack adds to w.dT the gradient through the projection score given w.dsa
// (as projection.backward).
func (w *ws32) projectBack(c, m int) {
	n, ts := w.n, w.out
	rowsParallel(n, w.be.Threads(), func(i int) {
		dq := w.dpr[i*c : (i+1)*c]
		if w.dsa[i] == 0 || w.dist[i] == 0 {
			clear(dq)
			return
		}
		d, q := w.dev[i*c:(i+1)*c], w.pr[i*c:(i+1)*c]
		dn, pn := w.dn[i], w.pn[i]
		k := w.dsa[i] / (2 * w.dist[i])
		var wd float64
		for j, x := range q {
			wj := float64(x) / pn
			wd += k * (float64(d[j])/dn - wj) * wj
		}
		for j, x := range q {
			wj := float64(x) / pn
			dq[j] = float32((k*(float64(d[j])/dn-wj) - wj*wd) / pn)
		}
	})
	w.gemm(false, true, n, m, c, 1, w.dpr, c, ts, c, 0, w.dcoef, m)
	w.gemm(true, false, m, c, n, 1, w.coef, m, w.dpr, c, 1, w.dT, c)
	w.gemm(true, false, m, c, n, 1, w.dcoef, m, w.dev, c, 1, w.dT, c)
}

// disc is discLoss on the attended (defect) rows: the cosines by one GEMM, the
// gradient of each row's best vector into w.dT.
func (w *ws32) disc(s *Sample, c, m int) float64 {
	na := len(s.Defect)
	if w.masked { // no defect row: each counts 1
		return 1
	}
	nd := w.na
	ts := w.out
	disc := float64(na-nd) / float64(na)
	w.gemm(false, true, nd, m, c, 1, w.values, c, ts, c, 0, w.cos, m)
	for j := range nd {
		x := w.values[j*c : (j+1)*c]
		xn := norm32(x)
		best, bc := -1, 0.0
		for a := range m {
			cs := float64(w.cos[j*m+a]) / max(xn*w.tn[a], 1e-8)
			if best < 0 || cs > bc {
				best, bc = a, cs
			}
		}
		disc += (1 - bc) / float64(na)
		if xn*w.tn[best] > 1e-8 {
			ta, dta := ts[best*c:(best+1)*c], w.dT[best*c:(best+1)*c]
			k := WeightDisc / float64(na)
			u, v := k/(xn*w.tn[best]), k*bc/(w.tn[best]*w.tn[best])
			for t, xv := range x {
				dta[t] -= float32(u*float64(xv) - v*float64(ta[t]))
			}
		}
	}
	return disc
}

// orth is orthLoss with the Gram matrix of the normalised rows and its gradient as
// GEMMs.
func (w *ws32) orth(c, m int) float64 {
	ts := w.out
	for a := range m {
		inv := 1 / max(w.tn[a], 1e-12)
		for t := range c {
			w.that[a*c+t] = float32(float64(ts[a*c+t]) * inv)
		}
	}
	w.gemm(false, true, m, m, c, 1, w.that, c, w.that, c, 0, w.gram, m)
	var orth float64
	for a := range m {
		for b := range m {
			dot := float64(w.gram[a*m+b])
			if a == b {
				dot = norm32(w.that[a*c : (a+1)*c])
				dot = dot*dot - 1
			}
			orth += dot * dot / float64(m*m)
			w.gram[a*m+b] = float32(WeightOrth * 2 * dot / float64(m*m))
		}
	}
	w.gemm(false, false, m, c, m, 2, w.gram, m, w.that, c, 0, w.dhat, c)
	for a := range m {
		dh, th := w.dhat[a*c:(a+1)*c], w.that[a*c:(a+1)*c]
		var dot float64
		for t, v := range dh {
			dot += float64(v) * float64(th[t])
		}
		inv := 1 / max(w.tn[a], 1e-12)
		for t, v := range dh {
			w.dT[a*c+t] += float32((float64(v) - float64(th[t])*dot) * inv)
		}
	}
	return orth
}
