package main

import (
	"fmt"
	"os"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/gpu"
	"github.com/ideal-fsad/ideal/kernels"
)

// backendNames lists the values of the --backend flag, for its help text.
const backendNames = "cpu, gpu (OpenGL 4.3; falls back to cpu), reference"

// openBackend returns the compute backend named by a --backend flag. When "gpu" is
// asked for and no OpenGL 4.3 context can be had, it says why on stderr and returns
// the CPU backend.
func openBackend(name string) (kernels.Backend, error) {
	switch name {
	case "cpu":
		return cpu.New(), nil
	case "gpu":
		b, err := gpu.New()
		if err != nil {
			fmt.Fprintf(os.Stderr, "gpu unavailable: %v; using cpu\n", err)
			return cpu.New(), nil
		}
		return b, nil
	case "reference":
		return kernels.NewReference(), nil
	}
	return nil, usageErrorf("unknown backend %q (want one of: %s)", name, backendNames)
}
