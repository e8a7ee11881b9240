package imaging

import "fmt"

// Contour marks the boundary of a w×h mask: the pixels of the mask with a
// 4-neighbour outside it (or on the picture's edge), thickened by width−1 pixels
// inward, so that a contour drawn over a picture shows where the region ends.
func Contour(mask []bool, w, h, width int) []bool {
	if len(mask) != w*h {
		panic(fmt.Sprintf("imaging: Contour of a %d-value mask as %d×%d", len(mask), w, h))
	}
	in := func(x, y int) bool { return x >= 0 && y >= 0 && x < w && y < h && mask[y*w+x] }
	out := make([]bool, w*h)
	for y := range h {
		for x := range w {
			if !mask[y*w+x] {
				continue
			}
			for d := 1; d <= max(width, 1) && !out[y*w+x]; d++ {
				out[y*w+x] = !in(x-d, y) || !in(x+d, y) || !in(x, y-d) || !in(x, y+d)
			}
		}
	}
	return out
}

// ResizeMapNearest resizes a w×h map to ow×oh by nearest neighbour (the index rule
// of Mask.ResizeNearest): sharp edges stay sharp.
func ResizeMapNearest(m []float32, w, h, ow, oh int) []float32 {
	if len(m) != w*h {
		panic(fmt.Sprintf("imaging: ResizeMapNearest of a %d-value map as %d×%d", len(m), w, h))
	}
	out := make([]float32, ow*oh)
	for y := range oh {
		sy := nearestIndex(y, h, oh)
		for x := range ow {
			out[y*ow+x] = m[sy*w+nearestIndex(x, w, ow)]
		}
	}
	return out
}
