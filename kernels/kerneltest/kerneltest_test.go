package kerneltest

import (
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
)

// The suite run on the reference itself exercises the harness (sentinels, aliasing,
// immutability checks) and must pass exactly; the large cases would add nothing.
func TestReferenceAgainstItself(t *testing.T) {
	RunAll(t, func() kernels.Backend { return kernels.NewReference() }, SmallOnly())
}

func TestCompare(t *testing.T) {
	nan := float32(math.NaN())
	for _, c := range []struct {
		got, want    []float32
		nmse, maxAbs float64
	}{
		{[]float32{1, 2}, []float32{1, 2}, 0, 0},
		{[]float32{1, 3}, []float32{1, 2}, 1.0 / 5, 1},
		{[]float32{nan}, []float32{1}, math.Inf(1), math.Inf(1)},
		{[]float32{1}, []float32{1, 2}, math.Inf(1), math.Inf(1)},
	} {
		n, m := Compare(c.got, c.want)
		if n != c.nmse || m != c.maxAbs {
			t.Errorf("Compare(%v, %v) = %g, %g; want %g, %g", c.got, c.want, n, m, c.nmse, c.maxAbs)
		}
	}
}

// BenchmarkReference is the naive twin of every backend's BenchAll (slow: use
// -benchtime 1x).
func BenchmarkReference(b *testing.B) {
	BenchAll(b, func() kernels.Backend { return kernels.NewReference() })
}

// broken is the reference with three planted bugs, one of each kind the suite must
// catch: a wrong value, an output element left unwritten, a modified input.
type broken struct{ *kernels.Reference }

func (b broken) MatMul(dst, a, w kernels.Tensor, transB bool, ep kernels.Epilogue) {
	b.Reference.MatMul(dst, a, w, transB, ep)
	d := dst.(*kernels.Host).Data
	d[len(d)/2] += 0.5 + d[len(d)/2]
}

func (b broken) LayerNorm(dst, x, gamma, beta kernels.Tensor, eps float32) {
	last := dst.(*kernels.Host).Data[kernels.Numel(dst)-1]
	b.Reference.LayerNorm(dst, x, gamma, beta, eps)
	if dst != x {
		dst.(*kernels.Host).Data[kernels.Numel(dst)-1] = last
	}
}

func (b broken) AddScaled(dst, a, y kernels.Tensor, s float32) {
	b.Reference.AddScaled(dst, a, y, s)
	if dst != a && dst != y {
		y.(*kernels.Host).Data[0]++
	}
}

// TestBrokenBackend runs the suite on broken in a child process (failures there
// must not fail this test) and checks that every planted bug is reported.
func TestBrokenBackend(t *testing.T) {
	if os.Getenv("KERNELTEST_BROKEN") == "1" {
		RunAll(t, func() kernels.Backend { return broken{kernels.NewReference()} }, SmallOnly())
		return
	}
	if testing.Short() {
		t.Skip("runs a child test process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenBackend$", "-test.short")
	cmd.Env = append(os.Environ(), "KERNELTEST_BROKEN=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite passed a broken backend:\n%s", out)
	}
	for _, want := range []string{
		"MatMul/m1_k1_n1_transfalse_biasfalse_gelufalse_gammafalse_resfalse: normalised MSE",
		"LayerNorm/m1_c1_eps1e-06_off0_inplacefalse: normalised MSE +Inf",
		"AddScaled/n1_s0_alias0: input 1 [1 3] modified at element 0",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("child output:\n%s", out)
	}
}
