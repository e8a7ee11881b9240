package ideal

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/kernels"
)

// BackendNames describes the names OpenBackend takes, for help texts.
const BackendNames = "cpu, gpu (OpenGL 4.3; falls back to cpu), auto (gpu if a context can be made, else cpu), reference"

// ErrUnknownBackend is wrapped by OpenBackend's error for a name it does not know.
var ErrUnknownBackend = errors.New("unknown backend")

// OpenBackend opens the compute backend called name:
//   - "cpu": the fast CPU backend (package cpu), always available;
//   - "reference": the naive float64-accumulating oracle (kernels.Reference);
//   - "gpu": the OpenGL 4.3 compute backend, when the program imports package gpu (it
//     registers itself; the desktop viewer cannot link it). When no context can be made
//     it falls back to cpu;
//   - "auto": gpu if it is linked in and a context can be made, else cpu.
//
// note is "" or, after a fall-back, the reason ("gpu unavailable: ...; using cpu"),
// which a tool should show its user. The caller closes the backend.
func OpenBackend(name string) (b kernels.Backend, note string, err error) {
	switch name {
	case "cpu":
		return cpu.New(), "", nil
	case "reference":
		return kernels.NewReference(), "", nil
	case "gpu", "auto":
		open, ok := kernels.Registered("gpu")
		if !ok {
			return cpu.New(), "gpu unavailable: this program is built without the gpu backend; using cpu", nil
		}
		g, err := open()
		if err != nil {
			return cpu.New(), fmt.Sprintf("gpu unavailable: %v; using cpu", err), nil
		}
		return g, "", nil
	}
	if open, ok := kernels.Registered(name); ok {
		b, err := open()
		return b, "", err
	}
	return nil, "", fmt.Errorf("%w %q (want one of: %s)", ErrUnknownBackend, name, strings.Join(append([]string{"cpu", "reference", "auto"}, kernels.RegisteredNames()...), ", "))
}
