package main

import (
	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/kernels"
)

// backendNames lists the values of the --backend flag, for its help text.
const backendNames = "cpu, reference"

// openBackend returns the compute backend named by a --backend flag.
func openBackend(name string) (kernels.Backend, error) {
	switch name {
	case "cpu":
		return cpu.New(), nil
	case "reference":
		return kernels.NewReference(), nil
	}
	return nil, usageErrorf("unknown backend %q (want one of: %s)", name, backendNames)
}
