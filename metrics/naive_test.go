package metrics

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// naivePixel is the slow twin of PixelAccumulator: float64 scores, regions by
// repeated min-label propagation, AUROC as the Mann-Whitney statistic with
// average ranks, and AP, F1max and the PRO curve by an explicit walk over a full
// sort of every pixel.
func naivePixel(w, h int, maps [][]float32, masks [][]bool, limit float64) (auroc, f1, aupro float64) {
	type px struct {
		s      float64
		pos    bool
		region int // global region id, -1 for normal pixels
	}
	var all []px
	var regionSize []int
	for im := range maps {
		lab := make([]int, w*h)
		for i := range lab {
			lab[i] = -1
			if masks[im][i] {
				lab[i] = i
			}
		}
		for changed := true; changed; {
			changed = false
			for i := range lab {
				if lab[i] < 0 {
					continue
				}
				x, y := i%w, i/w
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						xx, yy := x+dx, y+dy
						if xx >= 0 && xx < w && yy >= 0 && yy < h {
							if l := lab[yy*w+xx]; l >= 0 && l < lab[i] {
								lab[i] = l
								changed = true
							}
						}
					}
				}
			}
		}
		ids := map[int]int{}
		for i, l := range lab {
			region := -1
			if l >= 0 {
				id, ok := ids[l]
				if !ok {
					id = len(regionSize)
					ids[l] = id
					regionSize = append(regionSize, 0)
				}
				regionSize[id]++
				region = id
			}
			all = append(all, px{float64(maps[im][i]), masks[im][i], region})
		}
	}
	slices.SortFunc(all, func(a, b px) int { return cmp.Compare(b.s, a.s) })
	var P, N float64
	for _, p := range all {
		if p.pos {
			P++
		} else {
			N++
		}
	}
	// Mann-Whitney: rank ascending with ties averaged.
	var rankSumPos float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].s == all[i].s {
			j++
		}
		// descending positions i..j-1 are ascending ranks len-j+1 .. len-i
		avg := float64(2*len(all)-i-j+1) / 2
		for k := i; k < j; k++ {
			if all[k].pos {
				rankSumPos += avg
			}
		}
		i = j
	}
	auroc = (rankSumPos - P*(P+1)/2) / (P * N)
	overlap := make([]int, len(regionSize))
	var tp, fp float64
	var x0, y0, area float64
	done := false
	for i := 0; i < len(all); {
		for s := all[i].s; i < len(all) && all[i].s == s; i++ {
			if all[i].pos {
				tp++
				overlap[all[i].region]++
			} else {
				fp++
			}
		}
		f1 = max(f1, 2*tp/(tp+fp+P))
		var pro float64
		for r, n := range overlap {
			pro += float64(n) / float64(regionSize[r])
		}
		pro /= float64(len(regionSize))
		x := fp / N
		if !done {
			if x <= limit {
				area += (x - x0) * (pro + y0) / 2
				x0, y0 = x, pro
			} else {
				area += (limit - x0) * (y0 + (y0 + (pro-y0)*(limit-x0)/(x-x0))) / 2
				done = true
			}
		}
	}
	return auroc, f1, area / limit
}

// randomPixelCase makes n maps of w×h with a few blobs per mask; kind selects
// the score distribution: 0 few distinct values (ties), 1 a narrow float range
// (thousands of normal pixels in one top-16-bit partition), 2 wide signed values.
func randomPixelCase(rng *rand.Rand, n, w, h, kind int) (maps [][]float32, masks [][]bool) {
	for range n {
		m := make([]float32, w*h)
		mask := make([]bool, w*h)
		if rng.IntN(3) > 0 {
			for range 1 + rng.IntN(4) {
				cx, cy, r := rng.IntN(w), rng.IntN(h), 1+rng.IntN(4)
				for y := max(cy-r, 0); y < min(cy+r, h); y++ {
					for x := max(cx-r, 0); x < min(cx+r, w); x++ {
						if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r {
							mask[y*w+x] = true
						}
					}
				}
			}
		}
		for i := range m {
			bonus := 0.0
			if mask[i] {
				bonus = 0.3
			}
			switch kind {
			case 0:
				m[i] = float32(rng.IntN(6)) + float32(bonus*10)
			case 1:
				m[i] = float32(0.5 + (rng.Float64()+bonus)*0x1p-10)
			default:
				m[i] = float32((rng.Float64() - 0.5 + bonus) * math.Pow(10, float64(rng.IntN(12)-6)))
			}
		}
		maps, masks = append(maps, m), append(masks, mask)
	}
	return maps, masks
}

func TestPixelAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	acc := NewPixelAccumulator(0) // reused: Reset must forget everything
	for trial := range 9 {
		kind := trial % 3
		w, h, n := 20+rng.IntN(30), 20+rng.IntN(30), 2+rng.IntN(6)
		if kind == 1 {
			w, h, n = 64, 64, 3 // > 4096 normal pixels in one partition: the dense path
		}
		maps, masks := randomPixelCase(rng, n, w, h, kind)
		acc.Reset()
		for i := range maps {
			if err := acc.Add(w, h, maps[i], masks[i]); err != nil {
				t.Fatal(err)
			}
		}
		for _, limit := range []float64{0.3, 0.01, 1} {
			r, err := acc.Result(limit)
			if err != nil {
				t.Fatal(err)
			}
			auroc, f1, aupro := naivePixel(w, h, maps, masks, limit)
			if math.Abs(r.AUROC-auroc) > 1e-9 || math.Abs(r.F1Max-f1) > 1e-9 || math.Abs(r.AUPRO-aupro) > 1e-9 {
				t.Errorf("trial %d kind %d limit %v: got AUROC %v F1 %v AU-PRO %v, naive %v %v %v",
					trial, kind, limit, r.AUROC, r.F1Max, r.AUPRO, auroc, f1, aupro)
			}
		}
	}
}

// The fast accumulator and its naive twin on the same small set, for the ratio.
func benchCase() (int, int, [][]float32, [][]bool) {
	maps, masks := randomPixelCase(rand.New(rand.NewPCG(3, 4)), 8, 64, 64, 2)
	return 64, 64, maps, masks
}

func BenchmarkPixelAccumulatorSmall(b *testing.B) {
	w, h, maps, masks := benchCase()
	for b.Loop() {
		acc := NewPixelAccumulator(len(maps) * w * h)
		for i := range maps {
			acc.Add(w, h, maps[i], masks[i])
		}
		acc.Result(0.3)
	}
}

func BenchmarkPixelNaiveSmall(b *testing.B) {
	w, h, maps, masks := benchCase()
	for b.Loop() {
		naivePixel(w, h, maps, masks, 0.3)
	}
}

func TestPartitionTop16(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 63, 64, 65, 257, 1025, 100000} {
		k32 := make([]uint32, n)
		k64 := make([]uint64, n)
		for i := range k32 {
			k32[i] = rng.Uint32() >> uint(rng.IntN(20)) // skewed: many small top bits
			k64[i] = uint64(k32[i])<<32 | uint64(rng.Uint32())
		}
		s32, s64 := slices.Clone(k32), slices.Clone(k64)
		off32, off64 := partitionTop16(k32, 0), partitionTop16(k64, 32)
		for _, c := range []struct {
			off  []int
			top  func(i int) int
			same bool
		}{
			{off32, func(i int) int { return int(k32[i] >> 16) }, slices.Equal(sortedCopy(s32), sortedCopy(k32))},
			{off64, func(i int) int { return int(k64[i] >> 48) }, slices.Equal(sortedCopy(s64), sortedCopy(k64))},
		} {
			if !c.same || c.off[0] != 0 || c.off[1<<16] != n {
				t.Fatalf("n=%d: not a permutation or bad bounds", n)
			}
			for b := range 1 << 16 {
				for i := c.off[b]; i < c.off[b+1]; i++ {
					if c.top(i) != b {
						t.Fatalf("n=%d: key %d in group %d has top bits %d", n, i, b, c.top(i))
					}
				}
			}
		}
	}
}

func sortedCopy[T uint32 | uint64](s []T) []T {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
