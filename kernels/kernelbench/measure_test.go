package kernelbench

import (
	"math"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
)

func TestMedianAndMaxAbsErr(t *testing.T) {
	if m := Median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("Median odd = %g", m)
	}
	if m := Median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("Median even = %g", m)
	}
	if e, err := MaxAbsErr([]float32{1, 2}, []float32{1.5, 2}); err != nil || e != 0.5 {
		t.Errorf("MaxAbsErr = %g, %v", e, err)
	}
	if e, _ := MaxAbsErr([]float32{float32(math.NaN())}, []float32{1}); !math.IsInf(e, 1) {
		t.Errorf("MaxAbsErr with NaN = %g, want +Inf", e)
	}
	if _, err := MaxAbsErr([]float32{1}, nil); err == nil {
		t.Error("MaxAbsErr of different lengths: no error")
	}
}

// The reference backend runs every kernel case at the smallest size, and Measure
// compares a backend with itself exactly.
func TestCasesOnReference(t *testing.T) {
	cases := Cases(Patch)
	be := kernels.NewReference()
	_, ref, err := Measure(be, cases, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := Measure(be, cases, 1, ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.MaxAbsErr != 0 || r.GFLOPs <= 0 {
			t.Errorf("%s: error %g against itself, %g GFLOP/s", r.Name, r.MaxAbsErr, r.GFLOPs)
		}
	}
}

func TestParseBackends(t *testing.T) {
	for list, want := range map[string]string{"cpu": "cpu", "gpu,cpu": "cpu,gpu", "reference, gpu": "reference,gpu", "gpu,reference,cpu": "cpu,gpu,reference"} {
		got, err := ParseBackends(list)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("ParseBackends(%q) = %q, %v; want %s", list, got, err, want)
		}
	}
	for _, list := range []string{"", "cpu,cpu", "tpu", "cpu,"} {
		if got, err := ParseBackends(list); err == nil {
			t.Errorf("ParseBackends(%q) = %q, want an error", list, got)
		}
	}
}
