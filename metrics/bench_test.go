package metrics

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// peakRSSGiB reads the process's peak resident memory (VmHWM) from /proc; 0 where
// /proc is not available.
func peakRSSGiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / (1 << 20)
		}
	}
	return 0
}

// genMap fills an MVTec-like generated map: every second-to-third image has one
// to three disc-shaped defects; scores are 24-bit uniform noise (about 16 M
// distinct float32 values over the set, the hard case for exact thresholds)
// raised inside the defects.
func genMap(seed uint64, w, h int, scores []float32, mask []bool) {
	x := seed*0x9E3779B97F4A7C15 + 1
	next := func() uint64 { // xorshift64*
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		return x * 0x2545F4914F6CDD1D
	}
	clear(mask)
	if seed%3 != 0 {
		for range 1 + next()%3 {
			cx, cy, r := int(next()%uint64(w)), int(next()%uint64(h)), 3+int(next()%40)
			for y := max(cy-r, 0); y < min(cy+r, h); y++ {
				for xx := max(cx-r, 0); xx < min(cx+r, w); xx++ {
					if (xx-cx)*(xx-cx)+(y-cy)*(y-cy) <= r*r {
						mask[y*w+xx] = true
					}
				}
			}
		}
	}
	for i := range scores {
		v := float32(next()>>40) * 0x1p-24
		if mask[i] {
			v += 0.25
		}
		scores[i] = v
	}
}

// BenchmarkPixelMVTecSize streams 1 725 generated 448×448 maps (MVTec AD's test
// set size, ≈346 M pixels) into one accumulator — the worst case, as real runs
// accumulate one class at a time — and computes P-AUROC, P-F1max and AU-PRO@0.3.
// Map generation is not timed. It reports the process's peak resident memory.
// Run: go test ./metrics -run '^$' -bench MVTecSize -benchtime 1x
func BenchmarkPixelMVTecSize(b *testing.B) {
	const n, w, h = 1725, 448, 448
	scores := make([]float32, w*h)
	mask := make([]bool, w*h)
	for b.Loop() {
		acc := NewPixelAccumulator(n * w * h)
		for i := range n {
			b.StopTimer()
			genMap(uint64(i)+1, w, h, scores, mask)
			b.StartTimer()
			if err := acc.Add(w, h, scores, mask); err != nil {
				b.Fatal(err)
			}
		}
		r, err := acc.Result(0.3)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("pixels %d (anomalous %d, regions %d): P-AUROC %.6f P-F1max %.6f AU-PRO %.6f",
			r.Pixels, r.Anomalous, r.Regions, r.AUROC, r.F1Max, r.AUPRO)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(peakRSSGiB(), "peak-RSS-GiB")
	b.ReportMetric(float64(ms.Sys)/(1<<30), "go-sys-GiB")
}
