package kernels

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// Opener makes a new backend (or says why it cannot).
type Opener func() (Backend, error)

var (
	registryMu sync.Mutex
	registry   = map[string]Opener{}
)

// Register makes a backend available by name to ideal.OpenBackend, the way image
// formats register with package image: a backend whose package cannot be linked into
// every program (the OpenGL backend, whose GLFW cannot share a binary with Ebiten)
// registers itself in its init, and a program that wants it imports the package.
// Registering a name twice panics.
func Register(name string, open Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("kernels: backend %q registered twice", name))
	}
	registry[name] = open
}

// Registered returns the opener registered under name, if any.
func Registered(name string) (Opener, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	o, ok := registry[name]
	return o, ok
}

// RegisteredNames lists the registered backends, sorted.
func RegisteredNames() []string {
	registryMu.Lock()
	defer registryMu.Unlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrUnsupported is wrapped by the error of an operation a backend cannot run with the
// given parameters (a limit of the hardware or of its kernels), as opposed to a
// programming error (a wrong shape), which panics.
var ErrUnsupported = errors.New("unsupported by the backend")
