//go:build gldebug && cgo && !js

package gpu

import (
	"fmt"
	"strings"
	"testing"
)

// Under gldebug a failing GL call panics with its name.
func TestDebugNamesFailingCall(t *testing.T) {
	b := open(t)
	defer b.Close()
	defer func() {
		p := recover()
		if p == nil || !strings.Contains(fmt.Sprint(p), "glBindBufferBase") {
			t.Errorf("binding a buffer that does not exist: panic %v, want one naming glBindBufferBase", p)
		}
	}()
	b.do(func() { glBindStorage(0, 1<<30) })
}
