package kernelbench

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ideal-fsad/ideal/kernels"
)

// Result is one case timed on one backend (the JSON of `ideal bench --json`).
type Result struct {
	Name      string  `json:"name"`
	Backend   string  `json:"backend"`
	MsMedian  float64 `json:"ms_median"`
	GFLOPs    float64 `json:"gflops"`      // effective: the case's FLOP / the median time
	MaxAbsErr float64 `json:"max_abs_err"` // against ref's output of the same case (0 without one)
}

// Measure runs every case on be: one warm-up run whose output is kept and, where ref
// holds the same case, compared with it (MaxAbsErr), then reps timed runs whose
// median is reported. It returns the results (none when reps is 0: the outputs alone,
// e.g. to serve as the ref of another backend) and the warm-up outputs by case name.
// progress, if not nil, is called before each case. be is not closed.
func Measure(be kernels.Backend, cases []Case, reps int, ref map[string][]float32, progress func(name string)) ([]Result, map[string][]float32, error) {
	var results []Result
	outs := map[string][]float32{}
	for _, c := range cases {
		if progress != nil {
			progress(c.Name)
		}
		r, out, err := measureOne(be, c, reps)
		if err != nil {
			return nil, nil, fmt.Errorf("%s on %s: %w", c.Name, be.Name(), err)
		}
		outs[c.Name] = out
		if reps == 0 {
			continue
		}
		if want, ok := ref[c.Name]; ok {
			if r.MaxAbsErr, err = MaxAbsErr(out, want); err != nil {
				return nil, nil, fmt.Errorf("%s on %s: %w", c.Name, be.Name(), err)
			}
		}
		results = append(results, r)
	}
	return results, outs, nil
}

func measureOne(be kernels.Backend, c Case, reps int) (Result, []float32, error) {
	run, cleanup, err := c.Setup(be)
	if err != nil {
		return Result{}, nil, err
	}
	defer cleanup()
	out, err := run(true)
	if err != nil {
		return Result{}, nil, err
	}
	out = slices.Clone(out)
	times := make([]float64, reps)
	for i := range times {
		t0 := time.Now()
		if _, err := run(false); err != nil {
			return Result{}, nil, err
		}
		times[i] = time.Since(t0).Seconds() * 1e3
	}
	r := Result{Name: c.Name, Backend: be.Name()}
	if reps > 0 {
		r.MsMedian = Median(times)
		if c.FLOP > 0 && r.MsMedian > 0 {
			r.GFLOPs = c.FLOP / (r.MsMedian * 1e-3) / 1e9
		}
	}
	return r, out, nil
}

// Median is the median of v (the mean of the middle two for an even count).
func Median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// MaxAbsErr is the largest |got − want|; a NaN anywhere makes it +Inf.
func MaxAbsErr(got, want []float32) (float64, error) {
	if len(got) != len(want) {
		return 0, fmt.Errorf("%d output values, the reference run gave %d", len(got), len(want))
	}
	var m float64
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) {
			return math.Inf(1), nil
		}
		m = max(m, d)
	}
	return m, nil
}
