package main

import (
	"fmt"
	"os"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/gpu"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/model/dinov2"
)

// loadBackbone loads the backbone weights at path and checks that it can take
// inputs of side size (a --size error is a usage error).
func loadBackbone(path string, size int, opt dinov2.Options) (*dinov2.Model, error) {
	m, err := dinov2.Load(path, opt)
	if err != nil {
		return nil, err
	}
	if err := m.CheckSize(size); err != nil {
		return nil, usageErrorf("--size: %v", err)
	}
	return m, nil
}

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
