package modelbench

import (
	"testing"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/kernels/kernelbench"
	"github.com/ideal-fsad/ideal/model/head"
)

// kernelbench spells the head's defaults as constants (it cannot import package head,
// whose tests use it); they must agree.
func TestHeadConstants(t *testing.T) {
	cfg := head.DefaultConfig()
	if kernelbench.HeadTopK != cfg.TopK || kernelbench.HeadTopR != cfg.TopR ||
		kernelbench.HeadHeads != cfg.Heads || kernelbench.HeadVectors != head.DefaultVectors {
		t.Errorf("kernelbench head constants k %d r %d heads %d M %d, head defaults %+v, M %d",
			kernelbench.HeadTopK, kernelbench.HeadTopR, kernelbench.HeadHeads, kernelbench.HeadVectors, cfg, head.DefaultVectors)
	}
}

// Every case, kernels and stages, runs at a small size and yields finite output.
func TestCasesRun(t *testing.T) {
	stages, err := Stages(42)
	if err != nil {
		t.Fatal(err)
	}
	cases := append(kernelbench.Cases(42), stages...)
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.Name] {
			t.Errorf("case %q twice", c.Name)
		}
		seen[c.Name] = true
	}
	res, outs, err := kernelbench.Measure(cpu.New(), cases, 1, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(cases) || len(outs) != len(cases) {
		t.Fatalf("%d results, %d outputs for %d cases", len(res), len(outs), len(cases))
	}
	for _, r := range res {
		if r.MsMedian <= 0 || r.GFLOPs <= 0 {
			t.Errorf("%s: %g ms, %g GFLOP/s", r.Name, r.MsMedian, r.GFLOPs)
		}
	}
}
