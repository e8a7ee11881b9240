//go:build !amd64 || noasm

package cpu

// adamBody updates no value on this build: Update's Go loop does them all.
func adamBody(p, m, v, vmax, g []float64, a *Adam) int { return 0 }
