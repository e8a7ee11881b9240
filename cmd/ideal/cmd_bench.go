package main

import (
	"fmt"
	"os"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/gpu"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kernelbench"
	"github.com/ideal-fsad/ideal/model/modelbench"
)

func init() {
	register("bench", "time the kernels and the model at ViT-S/14 shapes on each backend", runBench)
}

const benchUsage = "[--backend cpu,gpu] [--size 448] [--reps N] [--json FILE]"

// runBench times the shared case set (kernelbench.Cases, the kernels, then
// modelbench.Stages: backbone, head, query) on each backend with kernelbench.MeasureAll,
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
	names, err := kernelbench.ParseBackends(*backendList)
	if err != nil {
		return usageErrorf("--backend: %v", err)
	}
	stages, err := modelbench.Stages(*size)
	if err != nil {
		return err
	}
	entries, err := kernelbench.MeasureAll(names, append(kernelbench.Cases(*size), stages...), *reps, kernelbench.Hooks{
		Open:     openBenchBackend,
		Skipped:  func(n string, err error) { fmt.Fprintf(os.Stderr, "%s unavailable: %v; skipping it\n", n, err) },
		Progress: func(be, c string) { fmt.Fprintf(os.Stderr, "bench: %s %s\n", be, c) },
	})
	if err != nil {
		return err
	}
	kernelbench.WriteTable(os.Stdout, entries)
	if *jsonPath == "" {
		return nil
	}
	return kernelbench.WriteReport(*jsonPath, kernelbench.Report{Size: *size, Reps: *reps, Entries: entries})
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
