//go:build gldebug && cgo && !js

package gpu

import (
	"fmt"

	"github.com/go-gl/gl/v4.3-core/gl"
)

// check panics if the GL call just made raised an error (build tag gldebug).
func check(call string) {
	if e := gl.GetError(); e != gl.NO_ERROR {
		panic(fmt.Sprintf("gpu: %s: %s", call, glErrorName(e)))
	}
}
