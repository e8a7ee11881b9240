package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/ideal-fsad/ideal"
	_ "github.com/ideal-fsad/ideal/gpu" // registers the "gpu" backend with ideal.OpenBackend
	"github.com/ideal-fsad/ideal/kernels"
)

// backendNames lists the values of the --backend flag, for its help text.
const backendNames = ideal.BackendNames

// openBackend returns the compute backend named by a --backend flag
// (ideal.OpenBackend); a fall-back to cpu is said on stderr.
func openBackend(name string) (kernels.Backend, error) {
	b, note, err := ideal.OpenBackend(name)
	if errors.Is(err, ideal.ErrUnknownBackend) {
		return nil, usageErrorf("--backend: %v", err)
	}
	if err != nil {
		return nil, err
	}
	if note != "" {
		fmt.Fprintln(os.Stderr, note)
	}
	return b, nil
}
