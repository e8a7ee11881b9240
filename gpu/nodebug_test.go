//go:build !gldebug && cgo && !js

package gpu

import (
	"strings"
	"testing"
)

// Without gldebug a GL error is not checked at the call but reported by the next
// Download.
func TestDownloadReportsGLError(t *testing.T) {
	b := open(t)
	defer b.Close()
	x := b.Upload([]float32{1}, 1)
	b.do(func() { glBindStorage(0, 1<<30) }) // a buffer name that does not exist
	_, err := b.Download(x)
	if err == nil || !strings.Contains(err.Error(), "GL_INVALID") {
		t.Fatalf("Download after a failed GL call: error %v, want one naming the GL error", err)
	}
	if _, err := b.Download(x); err != nil {
		t.Errorf("the error was reported twice: %v", err)
	}
}
