package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/gpu"
	"github.com/ideal-fsad/ideal/internal/atomicfile"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kernelbench"
	"github.com/ideal-fsad/ideal/model/modelbench"
)

func init() {
	register("bench", "time the kernels and the model at ViT-S/14 shapes on each backend", runBench)
}

const benchUsage = "[--backend cpu,gpu] [--size 448] [--reps N] [--json FILE]"

// benchReport is the --json document.
type benchReport struct {
	Size    int                  `json:"size"`
	Reps    int                  `json:"reps"`
	Entries []kernelbench.Result `json:"entries"`
}

// runBench times the shared case set (kernelbench.Cases, the kernels, then
// modelbench.Stages: backbone, head, query) on each backend with kernelbench.Measure,
// each output compared with the CPU backend's on the same inputs.
func runBench(args []string) error {
	fs := newFlagSet("bench", benchUsage)
	backendList := fs.String("backend", "cpu,gpu", "comma-separated backends to time: cpu, gpu, reference (gpu is skipped, with the reason, when no OpenGL 4.3 context can be had)")
	size := fs.Int("size", 448, "input side S in pixels, a positive multiple of 14 (tokens (S/14)²+1, head grid S/14)")
	reps := fs.Int("reps", 5, "timed runs per case after one warm-up run; the median is reported")
	jsonPath := fs.String("json", "", "also write the results as JSON to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	if *size < kernelbench.Patch || *size%kernelbench.Patch != 0 {
		return usageErrorf("--size %d is not a positive multiple of %d", *size, kernelbench.Patch)
	}
	if *reps < 1 {
		return usageErrorf("--reps %d: want at least 1", *reps)
	}
	names, err := benchBackendNames(*backendList)
	if err != nil {
		return err
	}
	stages, err := modelbench.Stages(*size)
	if err != nil {
		return err
	}
	cases := append(kernelbench.Cases(*size), stages...)
	entries, err := benchAll(names, cases, *reps)
	if err != nil {
		return err
	}
	writeBenchTable(os.Stdout, entries)
	if *jsonPath == "" {
		return nil
	}
	rep := benchReport{Size: *size, Reps: *reps, Entries: entries}
	err = atomicfile.Write(*jsonPath, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	})
	if err != nil {
		return err
	}
	return nil
}

// benchBackendNames parses --backend, putting cpu first: its results are the
// yardstick of the others.
func benchBackendNames(list string) ([]string, error) {
	var names []string
	for n := range strings.SplitSeq(list, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n != "cpu" && n != "gpu" && n != "reference":
			return nil, usageErrorf("--backend: unknown backend %q (want cpu, gpu or reference)", n)
		case slices.Contains(names, n):
			return nil, usageErrorf("--backend: %q given twice", n)
		}
		names = append(names, n)
	}
	if i := slices.Index(names, "cpu"); i > 0 {
		names = append([]string{"cpu"}, slices.Delete(names, i, i+1)...)
	}
	return names, nil
}

// benchAll measures the cases on each named backend (cpu first). When cpu is not
// among them it still runs each case once, untimed, for the comparison.
func benchAll(names []string, cases []kernelbench.Case, reps int) ([]kernelbench.Result, error) {
	runs := make([]int, len(names)) // timed runs per backend
	for i := range runs {
		runs[i] = reps
	}
	if names[0] != "cpu" {
		names, runs = append([]string{"cpu"}, names...), append([]int{0}, runs...)
	}
	var cpuRef map[string][]float32
	var entries []kernelbench.Result
	for i, n := range names {
		be, err := openBenchBackend(n)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s unavailable: %v; skipping it\n", n, err)
			continue
		}
		progress := func(c string) { fmt.Fprintf(os.Stderr, "bench: %s %s\n", be.Name(), c) }
		es, outs, err := kernelbench.Measure(be, cases, runs[i], cpuRef, progress)
		if cerr := be.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("%s: %w", be.Name(), cerr)
		}
		if err != nil {
			return nil, err
		}
		if n == "cpu" {
			cpuRef = outs
		}
		entries = append(entries, es...)
	}
	if len(entries) == 0 {
		return nil, errors.New("no backend could be timed")
	}
	return entries, nil
}

func openBenchBackend(name string) (kernels.Backend, error) {
	switch name {
	case "gpu":
		return gpu.New()
	case "reference":
		return kernels.NewReference(), nil
	}
	return cpu.New(), nil
}

// writeBenchTable prints the entries with each one's speed-up over the CPU backend's
// entry of the same name ("-" for the CPU itself or when it was not timed).
func writeBenchTable(w io.Writer, entries []kernelbench.Result) {
	cpuMs := map[string]float64{}
	for _, e := range entries {
		if strings.HasPrefix(e.Backend, "cpu") {
			cpuMs[e.Name] = e.MsMedian
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "name\tbackend\tms (median)\tGFLOP/s\tspeed-up vs cpu\tmax abs err\t")
	for _, e := range entries {
		speed := "-"
		if c, ok := cpuMs[e.Name]; ok && !strings.HasPrefix(e.Backend, "cpu") && e.MsMedian > 0 {
			speed = fmt.Sprintf("%.2fx", c/e.MsMedian)
		}
		gf := "-"
		if e.GFLOPs > 0 {
			gf = fmt.Sprintf("%.1f", e.GFLOPs)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%s\t%s\t%.3g\t\n", e.Name, e.Backend, e.MsMedian, gf, speed, e.MaxAbsErr)
	}
	tw.Flush()
}
