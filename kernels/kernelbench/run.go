package kernelbench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/ideal-fsad/ideal/internal/atomicfile"
	"github.com/ideal-fsad/ideal/kernels"
)

// ParseBackends parses a comma-separated list of the backends to time (cpu, gpu,
// reference), putting cpu first: its results are the yardstick of the others.
func ParseBackends(list string) ([]string, error) {
	var names []string
	for n := range strings.SplitSeq(list, ",") {
		n = strings.TrimSpace(n)
		switch {
		case n != "cpu" && n != "gpu" && n != "reference":
			return nil, fmt.Errorf("unknown backend %q (want cpu, gpu or reference)", n)
		case slices.Contains(names, n):
			return nil, fmt.Errorf("%q given twice", n)
		}
		names = append(names, n)
	}
	if i := slices.Index(names, "cpu"); i > 0 {
		names = append([]string{"cpu"}, slices.Delete(names, i, i+1)...)
	}
	return names, nil
}

// Hooks are what MeasureAll tells its caller as it goes; each may be nil.
type Hooks struct {
	Open     func(name string) (kernels.Backend, error) // opens a backend by name (required)
	Skipped  func(name string, err error)               // a backend that could not be opened
	Progress func(backend, name string)                 // before each case on a backend
}

// MeasureAll measures the cases on each named backend (names as ParseBackends gives
// them, cpu first), reps timed runs each, every output compared with the cpu
// backend's. When cpu is not among them it still runs each case once, untimed, for
// the comparison. A backend that cannot be opened is skipped; none at all is an error.
func MeasureAll(names []string, cases []Case, reps int, h Hooks) ([]Result, error) {
	runs := make([]int, len(names)) // timed runs per backend
	for i := range runs {
		runs[i] = reps
	}
	if len(names) == 0 || names[0] != "cpu" {
		names, runs = append([]string{"cpu"}, names...), append([]int{0}, runs...)
	}
	var cpuRef map[string][]float32
	var entries []Result
	for i, n := range names {
		be, err := h.Open(n)
		if err != nil {
			if h.Skipped != nil {
				h.Skipped(n, err)
			}
			continue
		}
		var progress func(string)
		if h.Progress != nil {
			progress = func(c string) { h.Progress(be.Name(), c) }
		}
		es, outs, err := Measure(be, cases, runs[i], cpuRef, progress)
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

// WriteTable prints the entries with each one's speed-up over the CPU backend's
// entry of the same name ("-" for the CPU itself or when it was not timed).
func WriteTable(w io.Writer, entries []Result) error {
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
	return tw.Flush()
}

// Report is the JSON document of a run (`ideal bench --json`).
type Report struct {
	Size    int      `json:"size"`
	Reps    int      `json:"reps"`
	Entries []Result `json:"entries"`
}

// WriteReport writes rep as indented JSON to path, atomically.
func WriteReport(path string, rep Report) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	})
}
