package cpu

import "math"

// Adam holds the constants of one AdamW step (amsgrad, decoupled weight decay):
// Decay = 1 − lr·wd, Step = lr/(1 − β₁ᵗ), B1 = 1 − β₁, B2 = 1 − β₂, BC2 = √(1 − β₂ᵗ).
type Adam struct {
	Decay, Step, B1, B2, Beta1, Beta2, Eps, BC2 float64
}

// Update applies the step to every value i of g: p ← p·Decay, m ← β₁m + B1·g,
// v ← β₂v + (B2·g)·g, vmax ← max(vmax, v), p ← p − Step·m/(√vmax/BC2 + Eps), each
// operation rounded to float64 in that order (no fused multiply-add), so the
// results are the same bit for bit on every path (the AVX body on amd64, this Go
// loop elsewhere and for the tail); only the NaN a NaN in vmax gives may differ.
// p, m, v and vmax must hold at least len(g) values.
func (a *Adam) Update(p, m, v, vmax, g []float64) {
	n := len(g)
	p, m, v, vmax = p[:n], m[:n], v[:n], vmax[:n]
	k := adamBody(p, m, v, vmax, g, a)
	a.updateGo(p[k:], m[k:], v[k:], vmax[k:], g[k:])
}

func (a *Adam) updateGo(p, m, v, vmax, g []float64) {
	n := len(g)
	p, m, v, vmax = p[:n], m[:n], v[:n], vmax[:n]
	decay, step, b1, b2, beta1, beta2, eps, bc2 := a.Decay, a.Step, a.B1, a.B2, a.Beta1, a.Beta2, a.Eps, a.BC2
	for i, gr := range g {
		// The conversions forbid fusing a product into the following sum.
		pi := float64(p[i] * decay)
		mi := float64(beta1*m[i]) + float64(b1*gr)
		vi := float64(beta2*v[i]) + float64(float64(b2*gr)*gr)
		x := max(vmax[i], vi)
		m[i], v[i], vmax[i] = mi, vi, x
		p[i] = pi - float64(step*mi)/(float64(math.Sqrt(x)/bc2)+eps)
	}
}
