// Package gpu is the OpenGL 4.3 compute-shader implementation of kernels.Backend.
//
// New opens a hidden GLFW window with a 4.3 core context. Every GL call runs on one
// goroutine locked to one OS thread (an executor: ops hand it a closure and wait), so
// the backend may be used from any goroutine, one op at a time. Tensors are shader
// storage buffers (SSBOs) that stay on the GPU between ops; host data crosses only in
// Upload and Download. The shaders (package shaders) are compiled on first use and
// cached per program and #define set; a compile or link error names the file and
// carries the driver's info log.
//
// The backend needs cgo and is not built for js/wasm; there (and when no 4.3 context
// can be had: no display, GL too old, macOS) New returns an error wrapping
// ErrUnavailable that names the reason, and callers fall back to the CPU backend.
//
// The context is made through GLX (or WGL); IDEAL_GL_API=egl asks GLFW for an EGL
// context instead, which some headless NVIDIA setups need (scripts/gpu-check.sh).
//
// Build with -tags gldebug to check glGetError after every GL call; a failure panics
// with the name of the call.
//
// Dispatches larger than GL_MAX_COMPUTE_WORK_GROUP_COUNT are split by Split, a pure
// function; each shader adds the u_groupOffset uniform to gl_WorkGroupID.
package gpu
