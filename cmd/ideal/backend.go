package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/ideal-fsad/ideal"
	_ "github.com/ideal-fsad/ideal/gpu" // registers the "gpu" backend with ideal.OpenBackend
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
