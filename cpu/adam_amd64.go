//go:build amd64 && !noasm

package cpu

// adamAVX is Adam.Update on n values (a multiple of 4) with AVX (adam_amd64.s).
//
//go:noescape
func adamAVX(p, m, v, vmax, grad *float64, n int, a *Adam)

// adamBody updates the first multiple of 4 values with AVX (when the CPU has it)
// and returns how many it did.
func adamBody(p, m, v, vmax, g []float64, a *Adam) int {
	n := len(g) &^ 3
	if !hasAVX2 || n == 0 {
		return 0
	}
	adamAVX(&p[0], &m[0], &v[0], &vmax[0], &g[0], n, a)
	return n
}
