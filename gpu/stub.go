//go:build !cgo || js

package gpu

import (
	"fmt"
	"runtime"

	"github.com/ideal-fsad/ideal/kernels"
)

// New reports that this build has no OpenGL backend: it needs cgo and a desktop
// platform, and this binary was built for runtime.GOOS/GOARCH without them.
func New() (kernels.Backend, error) {
	return nil, fmt.Errorf("%w: built without cgo or for js (%s/%s); rebuild with CGO_ENABLED=1", ErrUnavailable, runtime.GOOS, runtime.GOARCH)
}
