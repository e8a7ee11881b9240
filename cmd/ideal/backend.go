package main

import "github.com/ideal-fsad/ideal/kernels"

// backendNames lists the values of the --backend flag, for its help text.
const backendNames = "reference"

// openBackend returns the compute backend named by a --backend flag.
func openBackend(name string) (kernels.Backend, error) {
	switch name {
	case "reference":
		return kernels.NewReference(), nil
	}
	return nil, usageErrorf("unknown backend %q (want one of: %s)", name, backendNames)
}
