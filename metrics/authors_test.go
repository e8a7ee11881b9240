package metrics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// A 4×4 map whose P-PRO is worked out by hand (no zoom: the side is ≤ 256).
//
//	mask (x, y):  A = {(0,0)};  B = {(1,1), (1,2)}
//
// (1,1) touches (0,0) only by a corner, so A and B are two 4-connected regions (one
// 8-connected region of 3 pixels for the MVTec AU-PRO). Scores: A 49 with a normal
// pixel at 49, B's pixels 30 and 10 each with a normal pixel at the same score, the
// 10 other normal pixels 0. The 50 thresholds are linspace(49, 0, 50) = 49, 48, …, 0,
// a pixel counting when its score is ≥ the threshold:
//
//	thresholds 49…31: A and one normal pixel      FPR 1/13, PRO (1 + 0)/2   = 0.5
//	thresholds 30…11: + B's first, a normal pixel  FPR 2/13, PRO (1 + 1/2)/2 = 0.75
//	thresholds 10…1:  + B's second, a normal pixel FPR 3/13, PRO 1
//	threshold  0:     everything                    FPR 1 (beyond 0.3: dropped)
//
// Points tied on FPR have the same PRO here, so their order does not matter. The
// curve starts at its first point (FPR 1/13, not 0), and PRO 1 is carried flat from
// 3/13 to 0.3:
//
//	area = (1/13)(0.5 + 0.75)/2 + (1/13)(0.75 + 1)/2 + (0.3 − 3/13)·1 = 0.3 − 3/26
//	P-PRO = area / 0.3 = 1 − 10/26 = 8/13.
func TestAuthorsPROByHand(t *testing.T) {
	scores := []float32{
		49, 49, 0, 0,
		0, 30, 30, 0,
		0, 10, 10, 0,
		0, 0, 0, 0,
	}
	mask := make([]bool, 16)
	mask[0], mask[1*4+1], mask[2*4+1] = true, true, true
	a := NewAuthorsPROAccumulator()
	if err := a.Add(4, 4, scores, mask); err != nil {
		t.Fatal(err)
	}
	r := a.Result()
	if want := 8.0 / 13; math.Abs(r.PRO-want) > 1e-15 || r.Regions != 2 || r.UndefinedBecause != "" {
		t.Errorf("P-PRO %v (%d regions, %q), want %v (2 regions)", r.PRO, r.Regions, r.UndefinedBecause, want)
	}

	// The same pixels split over two images give the same curve: FPR and PRO are
	// taken over the class, each region weighing the same.
	a.Reset()
	top, bottom := slices.Clone(scores[:8]), slices.Clone(scores[8:])
	a.Add(4, 2, top, mask[:8])
	a.Add(4, 2, bottom, mask[8:])
	// B is cut in two by the split: regions A, B-top, B-bottom (1 pixel each), PRO
	// 1/3, 2/3, 1 at FPR 1/13, 2/13, 3/13:
	//	area = (1/13)(1/3 + 2/3)/2 + (1/13)(2/3 + 1)/2 + (0.3 − 3/13) = 0.3 − 10/78
	//	P-PRO = 1 − 100/234.
	if r, want := a.Result(), 1-100.0/234; math.Abs(r.PRO-want) > 1e-15 || r.Regions != 3 {
		t.Errorf("split: P-PRO %v (%d regions), want %v (3 regions)", r.PRO, r.Regions, want)
	}
}

// Degenerate classes: undefined where the authors' code returns 0, and 0 where it
// also gives 0 by its definition.
func TestAuthorsPROUndefined(t *testing.T) {
	a := NewAuthorsPROAccumulator()
	if r := a.Result(); !math.IsNaN(r.PRO) || r.UndefinedBecause != "no pixels" {
		t.Errorf("empty: %+v", r)
	}
	a.Add(2, 2, []float32{1, 2, 3, 4}, nil)
	if r := a.Result(); !math.IsNaN(r.PRO) || r.UndefinedBecause != "no anomalous pixels" {
		t.Errorf("no anomaly: %+v", r)
	}
	a.Reset()
	a.Add(2, 1, []float32{1, 2}, []bool{true, true})
	if r := a.Result(); !math.IsNaN(r.PRO) || r.UndefinedBecause != "no normal pixels" {
		t.Errorf("no normal pixel: %+v", r)
	}
	// A constant map: np.isclose(min, max), the authors' 0.
	a.Reset()
	a.Add(2, 1, []float32{0.5, 0.5 + 1e-7}, []bool{true, false})
	if r := a.Result(); r.PRO != 0 || r.UndefinedBecause != "" {
		t.Errorf("constant map: %+v", r)
	}
	// Half the normal pixels at the maximum: the first point is at FPR 0.5 > 0.3.
	a.Reset()
	a.Add(3, 1, []float32{1, 1, 0}, []bool{true, false, false})
	if r := a.Result(); r.PRO != 0 {
		t.Errorf("no point within the limit: %+v", r)
	}
	// A one-pixel defect on a 1024-pixel side is lost by the order-0 zoom to 256.
	a.Reset()
	mask := make([]bool, 1024*1024)
	mask[1024*1+1] = true
	a.Add(1024, 1024, make([]float32, 1024*1024), mask)
	if r := a.Result(); !math.IsNaN(r.PRO) || r.Regions != 0 {
		t.Errorf("defect lost by the zoom: %+v", r)
	}
	if err := a.Add(2, 2, []float32{1, float32(math.NaN()), 0, 0}, nil); err == nil {
		t.Error("NaN accepted")
	}
}

// scipy.ndimage.zoom by hand. A side of 4 zoomed to 3 reads input coordinates
// k·(4−1)/(3−1) = 0, 1.5, 3: order 1 gives v0, (v1 + v2)/2, v3 (the last reads
// v3 with weight 1 and its mirrored neighbour v2 with weight 0); order 0 rounds
// 1.5 up, reading pixels 0, 2 and 3.
func TestZoomByHand(t *testing.T) {
	got := zoomLinear([]float32{0, 2, 4, 8}, 4, 1, 3, 1)
	if !slices.Equal(got, []float32{0, 3, 8}) {
		t.Errorf("order 1: %v, want [0 3 8]", got)
	}
	// Both axes: 4×2 → 3×1 reads rows at 0 only (factor 1 for a side of 1: row 0).
	got = zoomLinear([]float32{0, 2, 4, 8, 100, 100, 100, 100}, 4, 2, 3, 1)
	if !slices.Equal(got, []float32{0, 3, 8}) {
		t.Errorf("2-D order 1: %v, want [0 3 8]", got)
	}
	// 2×2 → 3×3: coordinates 0, 0.5, 1 on both axes: bilinear means.
	got = zoomLinear([]float32{0, 4, 8, 12}, 2, 2, 3, 3)
	if want := []float32{0, 2, 4, 4, 6, 8, 8, 10, 12}; !slices.Equal(got, want) {
		t.Errorf("up-sampling: %v, want %v", got, want)
	}
	if m := zoomNearest([]bool{true, false, true, false}, 4, 1, 3, 1); !slices.Equal(m, []bool{true, true, false}) {
		t.Errorf("order 0: %v, want [true true false]", m)
	}
	// Output sides: int(round(n·256/m)), Python's round half to even.
	for _, c := range []struct {
		n    int
		z    float64
		want int
	}{{448, 256.0 / 448, 256}, {300, 256.0 / 448, 171}, {5, 0.5, 2}, {7, 0.5, 4}, {1024, 0.25, 256}} {
		if got := zoomedSize(c.n, c.z); got != c.want {
			t.Errorf("zoomedSize(%d, %v) = %d, want %d", c.n, c.z, got, c.want)
		}
	}
	// At 448 → 256 the last output reads input 255·(447/255), exactly 447: inside.
	if taps := zoomTaps(448, 256, 1); taps[255].outside || taps[255].i0 != 447 || taps[255].w0 != 1 {
		t.Errorf("last tap of 448→256: %+v", taps[255])
	}
}

// The NumPy pieces by hand.
func TestNumpyByHand(t *testing.T) {
	lin := numpyLinspace(49, 0, 50)
	for i, v := range lin {
		if v != float64(49-i) {
			t.Fatalf("linspace(49, 0, 50)[%d] = %v", i, v)
		}
	}
	// step −1/3: 1 + 2·(−0.333…3) = 0.33333333333333337, not 1/3.
	if lin := numpyLinspace(1, 0, 4); !slices.Equal(lin, []float64{1, 0.6666666666666667, 0.33333333333333337, 0}) {
		t.Errorf("linspace(1, 0, 4) = %v", lin)
	}
	// Pairwise: ((1e16 + 1) + (1 + 1)) + ((1 + 1) + (1 + 1)) = 1e16 + 6 (1e16 + 1
	// rounds to 1e16), then + 2 + 2. A left-to-right sum loses every 1: 1e16 + 4.
	if s := numpySum([]float64{1e16, 1, 1, 1, 1, 1, 1, 1, 2, 2}); s != 1e16+10 {
		t.Errorf("pairwise sum %v, want 1e16+10", s)
	}
	// trapz: (1 − 0)(2 + 0)/2 + (3 − 1)(2 + 2)/2 = 1 + 4.
	if a := numpyTrapz([]float64{0, 2, 2}, []float64{0, 1, 3}); a != 5 {
		t.Errorf("trapz %v, want 5", a)
	}
	// np.argsort of 9 zeros then 9 ones, traced through NumPy's aquicksort_: one
	// median-of-3 partition of [0, 17] (pivot: element 8, a zero, parked at 16) swaps
	// zeros 1↔7, 2↔6, 3↔5 while scanning, stops at 4 and puts the pivot there (4 goes
	// to 16); then insertion sorts of [0, 3] and [5, 17] move element 4 back behind
	// the zeros. Tied values do not keep their order.
	v := make([]float64, 18)
	for i := 9; i < 18; i++ {
		v[i] = 1
	}
	want := []int{0, 7, 6, 5, 8, 3, 2, 1, 4, 16, 9, 10, 11, 12, 13, 14, 15, 17}
	if got := numpyArgsort(v); !slices.Equal(got, want) {
		t.Errorf("argsort = %v, want %v", got, want)
	}
}

// numpyArgsort sorts, and at up to 16 elements (insertion sort only) is stable; its
// heapsort fallback sorts too.
func TestNumpyArgsortSorts(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		n := rng.IntN(80)
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(rng.IntN(1 + trial%7))
		}
		idx := numpyArgsort(v)
		checkSorted(t, v, idx, n <= 16)
		h := make([]int, n)
		for i := range h {
			h[i] = i
		}
		numpyHeapsort(v, h)
		checkSorted(t, v, h, false)
	}
}

func checkSorted(t *testing.T, v []float64, idx []int, stable bool) {
	t.Helper()
	seen := make([]bool, len(v))
	for k, i := range idx {
		if seen[i] {
			t.Fatalf("index %d twice in %v", i, idx)
		}
		seen[i] = true
		if k > 0 && (v[idx[k-1]] > v[i] || stable && v[idx[k-1]] == v[i] && idx[k-1] > i) {
			t.Fatalf("not sorted (stable %v) at %d: %v of %v", stable, k, idx, v)
		}
	}
}

// naiveAuthorsPRO is the slow twin of AuthorsPROAccumulator after the zoom (which
// TestZoomByHand checks): every threshold compared with every pixel, regions by
// repeated min-label propagation over the 4 edge neighbours, PRO as a plain mean.
func naiveAuthorsPRO(w, h int, maps [][]float32, masks [][]bool) float64 {
	var regionOf [][]int
	var sizes []int
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for im := range maps {
		regionOf = append(regionOf, naiveLabels4(w, h, masks[im], &sizes))
		for _, s := range maps[im] {
			lo, hi = min(lo, s), max(hi, s)
		}
	}
	var neg int
	for _, m := range masks {
		for _, b := range m {
			if !b {
				neg++
			}
		}
	}
	var fpr, pro []float64
	for _, thr := range numpyLinspace(float64(hi), float64(lo), 50) {
		tf := float32(thr)
		hits := make([]int, len(sizes))
		fp := 0
		for im, m := range maps {
			for i, s := range m {
				switch {
				case s < tf:
				case masks[im][i]:
					hits[regionOf[im][i]]++
				default:
					fp++
				}
			}
		}
		var sum float64
		for r, n := range hits {
			sum += float64(n) / float64(sizes[r])
		}
		fpr, pro = append(fpr, float64(fp)/float64(neg)), append(pro, sum/float64(len(sizes)))
	}
	return authorsArea(fpr, pro)
}

// naiveLabels4 gives each mask pixel a global region id (appending the sizes), −1
// elsewhere.
func naiveLabels4(w, h int, mask []bool, sizes *[]int) []int {
	lab := make([]int, w*h)
	for i := range lab {
		lab[i] = -1
		if mask[i] {
			lab[i] = i
		}
	}
	for changed := true; changed; {
		changed = false
		for i, l := range lab {
			if l < 0 {
				continue
			}
			x, y := i%w, i/w
			for _, d := range [][2]int{{-1, 0}, {1, 0}, {0, -1}, {0, 1}} {
				xx, yy := x+d[0], y+d[1]
				if xx >= 0 && xx < w && yy >= 0 && yy < h && lab[yy*w+xx] >= 0 && lab[yy*w+xx] < lab[i] {
					lab[i], changed = lab[yy*w+xx], true
				}
			}
		}
	}
	ids := map[int]int{}
	for i, l := range lab {
		if l < 0 {
			continue
		}
		id, ok := ids[l]
		if !ok {
			id = len(*sizes)
			ids[l] = id
			*sizes = append(*sizes, 0)
		}
		(*sizes)[id]++
		lab[i] = id
	}
	return lab
}

func TestAuthorsPROAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	acc := NewAuthorsPROAccumulator() // reused: Reset must forget everything
	for trial := range 9 {
		kind := trial % 3
		w, h, n := 20+rng.IntN(30), 20+rng.IntN(30), 2+rng.IntN(6)
		maps, masks := randomPixelCase(rng, n, w, h, kind)
		if !slices.ContainsFunc(masks, func(m []bool) bool { return slices.Contains(m, true) }) {
			masks[0][0] = true
		}
		acc.Reset()
		for i := range maps {
			if err := acc.Add(w, h, maps[i], masks[i]); err != nil {
				t.Fatal(err)
			}
		}
		got, want := acc.Result().PRO, naiveAuthorsPRO(w, h, maps, masks)
		if math.Abs(got-want) > 1e-12 || math.IsNaN(got) {
			t.Errorf("trial %d kind %d: P-PRO %v, naive %v", trial, kind, got, want)
		}
	}
	// Zoomed: 300×200 maps go to 256×171 (the naive twin gets the zoomed maps).
	maps, masks := randomPixelCase(rng, 3, 300, 200, 2)
	acc.Reset()
	var zm [][]float32
	var zk [][]bool
	for i := range maps {
		acc.Add(300, 200, maps[i], masks[i])
		zm = append(zm, zoomLinear(maps[i], 300, 200, 256, 171))
		zk = append(zk, zoomNearest(masks[i], 300, 200, 256, 171))
	}
	if got, want := acc.Result().PRO, naiveAuthorsPRO(256, 171, zm, zk); math.Abs(got-want) > 1e-12 {
		t.Errorf("zoomed: P-PRO %v, naive %v", got, want)
	}
}
