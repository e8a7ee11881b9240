//go:build !gldebug && cgo && !js

package gpu

// check is a no-op without the gldebug build tag; errors then surface from Download.
func check(string) {}
