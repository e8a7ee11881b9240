package serve

import "github.com/ideal-fsad/ideal"

// contourJS is the predicted region's contour: the polygons bounding the pixels where
// the map A (upsampled to S×S) reaches the threshold, in the image's pixel
// coordinates (corners of pixels: x in [0, width], y in [0, height]). An outer
// boundary runs clockwise on screen (y down), a hole's counter-clockwise.
type contourJS struct {
	Width     int            `json:"width"`
	Height    int            `json:"height"`
	Threshold float32        `json:"threshold"`
	Polygons  [][][2]float64 `json:"polygons"`
}

// resultContour is r's region at threshold thr as polygons.
func resultContour(r *ideal.Result, thr float32) *contourJS {
	side := r.Side
	if side <= 0 {
		side = r.Grid
	}
	w, h := r.W, r.H
	if w == 0 {
		w, h = side, side
	}
	return &contourJS{Width: w, Height: h, Threshold: thr, Polygons: mapContour(r.Upsample(side, side), side, thr, w, h)}
}

// mapContour traces the region m ≥ thr of a side×side map and scales its polygons to
// a w×h image.
func mapContour(m []float32, side int, thr float32, w, h int) [][][2]float64 {
	mask := make([]bool, len(m))
	for i, v := range m {
		mask[i] = v >= thr
	}
	sx, sy := float64(w)/float64(side), float64(h)/float64(side)
	out := [][][2]float64{}
	for _, poly := range tracePolygons(mask, side, side) {
		p := make([][2]float64, len(poly))
		for i, c := range poly {
			p[i] = [2]float64{float64(c[0]) * sx, float64(c[1]) * sy}
		}
		out = append(out, p)
	}
	return out
}

// Directions of the boundary edges: east, south, west, north (screen, y down).
var dirs = [4][2]int{{1, 0}, {0, 1}, {-1, 0}, {0, -1}}

// tracePolygons returns the boundaries of the true pixels of a w×h mask as closed
// polygons of pixel corners (the first corner not repeated, collinear corners
// dropped). Each pixel's edges run clockwise, so the region lies on the right of its
// boundary; at a corner shared by two diagonal pixels the trace turns right, keeping
// them apart (4-connected regions).
func tracePolygons(mask []bool, w, h int) [][][2]int {
	fg := func(x, y int) bool { return x >= 0 && y >= 0 && x < w && y < h && mask[y*w+x] }
	out := make([]uint8, (w+1)*(h+1)) // out[v]: bit d set = an unused edge leaves v in direction d
	for y := range h {
		for x := range w {
			if !fg(x, y) {
				continue
			}
			v := y*(w+1) + x
			if !fg(x, y-1) {
				out[v] |= 1 << 0
			}
			if !fg(x+1, y) {
				out[v+1] |= 1 << 1
			}
			if !fg(x, y+1) {
				out[v+w+2] |= 1 << 2
			}
			if !fg(x-1, y) {
				out[v+w+1] |= 1 << 3
			}
		}
	}
	var polys [][][2]int
	for v := range out {
		if out[v]&1 != 0 { // raster order: an east edge starts each outer boundary and hole
			polys = append(polys, traceFrom(out, w, v))
		}
	}
	return polys
}

// traceFrom follows the unused edges from vertex start (leaving east), consuming them,
// until the trace would leave start east again.
func traceFrom(out []uint8, w, start int) [][2]int {
	stride := w + 1
	var poly [][2]int
	v, d := start, 0
	out[v] &^= 1
	for {
		poly = append(poly, [2]int{v % stride, v / stride})
		v += dirs[d][0] + dirs[d][1]*stride
		nd := -1
		for _, c := range [3]int{(d + 1) % 4, d, (d + 3) % 4} { // right, straight, left
			if v == start && c == 0 {
				return dropCollinear(poly)
			}
			if out[v]&(1<<c) != 0 {
				nd = c
				break
			}
		}
		if nd < 0 { // cannot happen on a well-formed edge set
			return dropCollinear(poly)
		}
		out[v] &^= 1 << nd
		d = nd
	}
}

// dropCollinear removes the corners of a closed polygon where it runs straight on.
func dropCollinear(p [][2]int) [][2]int {
	n := len(p)
	var q [][2]int
	for i := range n {
		a, b, c := p[(i+n-1)%n], p[i], p[(i+1)%n]
		if (b[0]-a[0])*(c[1]-b[1]) != (b[1]-a[1])*(c[0]-b[0]) {
			q = append(q, b)
		}
	}
	return q
}
