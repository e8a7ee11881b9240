//go:build cgo && !js

package gpu

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"github.com/go-gl/gl/v4.3-core/gl"
	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/ideal-fsad/ideal/kernels"
)

// backend is the OpenGL implementation of kernels.Backend. Its fields are touched
// only on the GL thread (inside do).
type backend struct {
	exec   *executor
	win    *glfw.Window
	name   string
	limit  [3]int // GL_MAX_COMPUTE_WORK_GROUP_COUNT
	block  int    // GL_MAX_SHADER_STORAGE_BLOCK_SIZE in float32 values
	dummy  uint32 // bound where an optional tensor is absent
	progs  map[string]*program
	live   map[*tensor]struct{}
	closed bool

	fallbacks int // ops run on the CPU (onCPU), for the tests
}

// tensor is an SSBO of n float32 values.
type tensor struct {
	shape []int
	n     int
	buf   uint32
	owner *backend
}

// Shape implements kernels.Tensor.
func (t *tensor) Shape() []int { return t.shape }

// GL-thread state shared by all backends.
var (
	glfwReady bool         // set once a window opened; GLFW then stays initialised (re-opening the X display for every backend failed intermittently under Xvfb)
	current   *glfw.Window // the window whose context is current on the GL thread
)

// New opens a hidden window with an OpenGL 4.3 core context and returns the backend.
// The error wraps ErrUnavailable and says why when no such context can be had.
func New() (kernels.Backend, error) {
	if runtime.GOOS == "darwin" {
		return nil, fmt.Errorf("%w: macOS supports OpenGL up to 4.1, without compute shaders", ErrUnavailable)
	}
	if runtime.GOOS != "windows" && os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return nil, fmt.Errorf("%w: no display (DISPLAY is not set; on a headless machine run under Xvfb, e.g. scripts/with-xvfb.sh)", ErrUnavailable)
	}
	b := &backend{exec: glThread(), progs: map[string]*program{}, live: map[*tensor]struct{}{}}
	var err error
	b.exec.Call(func() {
		defer func() {
			// go-gl/glfw panics on errors it classes as programmer errors, which a
			// failed initialisation (e.g. an X server without GLX) turns into.
			// GLFW only logs the platform error (e.g. "X11: Failed to open display").
			if p := recover(); p != nil {
				err = fmt.Errorf("%w: %v (could the display %q be opened? GLFW logs the platform error above)", ErrUnavailable, p, os.Getenv("DISPLAY"))
			}
		}()
		err = b.open()
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// open runs on the GL thread.
func (b *backend) open() error {
	if !glfwReady {
		if err := glfw.Init(); err != nil {
			return fmt.Errorf("%w: GLFW init: %v", ErrUnavailable, err)
		}
	}
	ok := false
	defer func() {
		if !ok {
			b.release()
		}
	}()
	glfw.DefaultWindowHints()
	glfw.WindowHint(glfw.Visible, glfw.False)
	glfw.WindowHint(glfw.ContextVersionMajor, 4)
	glfw.WindowHint(glfw.ContextVersionMinor, 3)
	glfw.WindowHint(glfw.OpenGLProfile, glfw.OpenGLCoreProfile)
	glfw.WindowHint(glfw.OpenGLForwardCompatible, glfw.True)
	if os.Getenv("IDEAL_GL_API") == "egl" {
		glfw.WindowHint(glfw.ContextCreationAPI, glfw.EGLContextAPI)
	}
	win, err := glfw.CreateWindow(16, 16, "ideal gpu", nil, nil)
	if err != nil {
		return fmt.Errorf("%w: no OpenGL 4.3 core context: %v", ErrUnavailable, err)
	}
	if win == nil {
		return fmt.Errorf("%w: GLFW could not create a window (platform error)", ErrUnavailable)
	}
	b.win = win
	glfwReady = true
	b.makeCurrent()
	if err := gl.Init(); err != nil {
		return fmt.Errorf("%w: loading OpenGL functions: %v", ErrUnavailable, err)
	}
	major, minor := glGetInteger(gl.MAJOR_VERSION), glGetInteger(gl.MINOR_VERSION)
	if major < 4 || major == 4 && minor < 3 {
		return fmt.Errorf("%w: OpenGL %d.%d < 4.3 (%s)", ErrUnavailable, major, minor, glGetString(gl.RENDERER))
	}
	for i := range b.limit {
		b.limit[i] = glGetIntegerIndexed(gl.MAX_COMPUTE_WORK_GROUP_COUNT, uint32(i))
	}
	b.block = glGetInteger(gl.MAX_SHADER_STORAGE_BLOCK_SIZE) / 4
	b.name = "gpu/" + shortRenderer(glGetString(gl.RENDERER))
	b.dummy = glNewBuffer(16, nil)
	ok = true
	return nil
}

// shortRenderer turns a GL_RENDERER string into a short lowercase name:
// "llvmpipe (LLVM 15.0.7, 256 bits)" → "llvmpipe", "NVIDIA H200/PCIe/SSE2" → "nvidia-h200".
func shortRenderer(r string) string {
	r, _, _ = strings.Cut(r, "(")
	r, _, _ = strings.Cut(r, "/")
	r = strings.ToLower(strings.Join(strings.Fields(r), "-"))
	if r == "" {
		return "unknown"
	}
	return r
}

func (b *backend) makeCurrent() {
	if current != b.win {
		b.win.MakeContextCurrent()
		current = b.win
	}
}

// do runs f on the GL thread with this backend's context current.
func (b *backend) do(f func()) {
	b.exec.Call(func() {
		if b.closed {
			panic("gpu: backend used after Close")
		}
		b.makeCurrent()
		f()
	})
}

// Name implements kernels.Backend.
func (b *backend) Name() string { return b.name }

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("gpu: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// Upload implements kernels.Backend.
func (b *backend) Upload(data []float32, shape ...int) kernels.Tensor {
	n := numel(shape)
	if n != len(data) {
		panic(fmt.Sprintf("gpu: Upload of %d values into shape %v", len(data), shape))
	}
	t := &tensor{shape: append([]int(nil), shape...), n: n, owner: b}
	b.do(func() {
		var p unsafe.Pointer
		if n > 0 {
			p = unsafe.Pointer(&data[0])
		}
		t.buf = glNewBuffer(max(4*n, 4), p)
		b.live[t] = struct{}{}
	})
	return t
}

// Zeros implements kernels.Backend.
func (b *backend) Zeros(shape ...int) kernels.Tensor {
	t := &tensor{shape: append([]int(nil), shape...), n: numel(shape), owner: b}
	b.do(func() {
		t.buf = glNewBuffer(max(4*t.n, 4), nil)
		glClearBuffer(t.buf)
		b.live[t] = struct{}{}
	})
	return t
}

// Download implements kernels.Backend. It waits for the pending work and reports any
// GL error raised since the previous check (a lost context, out of memory).
func (b *backend) Download(t kernels.Tensor) ([]float32, error) {
	tt := b.tensor(t, "Download")
	out := make([]float32, tt.n)
	var err error
	b.exec.Call(func() {
		if b.closed {
			err = errors.New("gpu: Download after Close")
			return
		}
		b.makeCurrent()
		if tt.buf == 0 {
			panic("gpu: Download of a freed tensor")
		}
		if tt.n > 0 {
			glReadBuffer(tt.buf, 4*tt.n, unsafe.Pointer(&out[0]))
		}
		if e := gl.GetError(); e != gl.NO_ERROR {
			err = fmt.Errorf("gpu: %s (found by Download of %v)", glErrorName(e), tt.shape)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Free implements kernels.Backend.
func (b *backend) Free(t kernels.Tensor) {
	if t == nil {
		return
	}
	tt := b.tensor(t, "Free")
	b.exec.Call(func() {
		if b.closed || tt.buf == 0 {
			return
		}
		b.makeCurrent()
		glDeleteBuffer(tt.buf)
		tt.buf = 0
		delete(b.live, tt)
	})
}

// Close implements kernels.Backend: it frees every tensor and program and the context.
func (b *backend) Close() error {
	var err error
	b.exec.Call(func() {
		if b.closed {
			return
		}
		b.makeCurrent()
		if e := gl.GetError(); e != gl.NO_ERROR {
			err = fmt.Errorf("gpu: %s (found by Close)", glErrorName(e))
		}
		b.release()
	})
	return err
}

// release frees what the backend holds; on the GL thread, once.
func (b *backend) release() {
	if b.win != nil {
		b.makeCurrent()
		for t := range b.live {
			glDeleteBuffer(t.buf)
			t.buf = 0
		}
		for _, p := range b.progs {
			glDeleteProgram(p.id)
		}
		if b.dummy != 0 {
			glDeleteBuffer(b.dummy)
		}
		glfw.DetachCurrentContext()
		current = nil
		b.win.Destroy()
		b.win = nil
	}
	b.live, b.progs = nil, nil
	b.closed = true
}

// tensor returns t as this backend's tensor; another backend's handle is a
// programming error.
func (b *backend) tensor(t kernels.Tensor, op string) *tensor {
	tt, ok := t.(*tensor)
	if !ok || tt.owner != b {
		panic(fmt.Sprintf("gpu: %s: tensor %T does not belong to this backend", op, t))
	}
	return tt
}

// buf returns the buffer of an optional tensor argument (the dummy buffer for nil).
// It runs on the GL thread.
func (b *backend) buf(t kernels.Tensor, op string) uint32 {
	if t == nil {
		return b.dummy
	}
	tt := b.tensor(t, op)
	if tt.buf == 0 {
		panic(fmt.Sprintf("gpu: %s: tensor %v used after Free", op, tt.shape))
	}
	return tt.buf
}

// scratch is a temporary buffer of n float32 values for one op, freed by the op.
func scratch(n int) uint32 { return glNewBuffer(max(4*n, 4), nil) }

// ceilDiv is ⌈a/b⌉ for a ≥ 0, b > 0.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

var _ kernels.Backend = (*backend)(nil)
