//go:build cgo && !js

package gpu

import (
	"runtime"
	"sync"
)

// executor runs closures one at a time on a single goroutine locked to its OS thread:
// OpenGL contexts and GLFW are bound to a thread. One executor serves every backend
// of the process (GLFW is process-global); each closure makes its backend's context
// current first.
type executor struct {
	work chan func()
}

var (
	execOnce sync.Once
	theExec  *executor
)

// glThread returns the process's GL executor, starting it on first use.
func glThread() *executor {
	execOnce.Do(func() {
		theExec = &executor{work: make(chan func())}
		go func() {
			runtime.LockOSThread()
			for f := range theExec.work {
				f()
			}
		}()
	})
	return theExec
}

// Call runs f on the GL thread and waits for it. A panic in f is re-raised in the
// caller's goroutine (the GL thread keeps running).
func (e *executor) Call(f func()) {
	var p any
	done := make(chan struct{})
	e.work <- func() {
		defer close(done)
		defer func() { p = recover() }()
		f()
	}
	<-done
	if p != nil {
		panic(p)
	}
}
