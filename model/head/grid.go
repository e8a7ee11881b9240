package head

import (
	"fmt"
	"math"
)

// PositionCode is the normalised 2-D sine code of DETR (spec §6) for one reference image
// on a g×g grid with the defect mask as DETR's padding mask: y counts the non-defect
// patches down each column and x along each row, each divided by its last value (+1e−6)
// and multiplied by 2π. The result is [g·g, c] in row-major patch order; channels are
// [sin, cos interleaved of y/dim_t ; the same of x/dim_t] with
// dim_t = 10000^(2⌊t/2⌋/(c/2)). c must be a multiple of 4.
func PositionCode(defect []bool, g, c int) []float32 {
	if len(defect) != g*g || c%4 != 0 {
		panic(fmt.Sprintf("head: PositionCode of %d mask cells on a %d grid with %d channels", len(defect), g, c))
	}
	ye := make([]float64, g*g)
	xe := make([]float64, g*g)
	for i := 0; i < g; i++ {
		for j := 0; j < g; j++ {
			var v float64
			if !defect[i*g+j] {
				v = 1
			}
			ye[i*g+j], xe[i*g+j] = v, v
			if i > 0 {
				ye[i*g+j] += ye[(i-1)*g+j]
			}
			if j > 0 {
				xe[i*g+j] += xe[i*g+j-1]
			}
		}
	}
	const eps, scale = 1e-6, 2 * math.Pi
	h := c / 2
	dim := make([]float64, h)
	for t := range dim {
		dim[t] = math.Pow(10000, float64(2*(t/2))/float64(h))
	}
	out := make([]float32, g*g*c)
	for i := 0; i < g; i++ {
		for j := 0; j < g; j++ {
			p := i*g + j
			y := ye[p] / (ye[(g-1)*g+j] + eps) * scale
			x := xe[p] / (xe[i*g+g-1] + eps) * scale
			row := out[p*c : (p+1)*c]
			for t := 0; t < h; t += 2 {
				row[t] = float32(math.Sin(y / dim[t]))
				row[t+1] = float32(math.Cos(y / dim[t+1]))
				row[h+t] = float32(math.Sin(x / dim[t]))
				row[h+t+1] = float32(math.Cos(x / dim[t+1]))
			}
		}
	}
	return out
}
