// Package gpu is the OpenGL 4.3 compute-shader implementation of kernels.Backend.
//
// New opens a hidden GLFW window with a 4.3 core context. Every GL call runs on one
// goroutine locked to one OS thread (an executor: ops hand it a closure and wait), so
// the backend may be used from any goroutine, one op at a time. Tensors are shader
// storage buffers (SSBOs) that stay on the GPU between ops; host data crosses only in
// Upload and Download. The shaders (package shaders) are compiled on first use and
// cached per program and #define set; a compile or link error (a bug of this
// package: it panics) names the shader and carries the driver's info log with its
// line numbers rewritten as file:line of the .comp/.glsl sources.
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
//
// Sizes are bounded where a kernel keeps per-row state in the 32 KiB of shared memory
// (or registers) every GL 4.3 implementation has: Attention head width ≤ 128,
// PatchEmbed patch ≤ 64, CosineTopK k ≤ 256, NVE k ≤ 32, r ≤ 8, C ≤ 3072, Projection
// 2C + M ≤ 7680. Valid operands beyond a bound never panic: that op runs on the CPU
// backend instead (its tensors are read back, computed by package cpu and written
// back), which is correct and slower. The DINOv2 ViT-S/B/L/g backbones and the IDEAL
// head at its defaults are well inside the bounds; a head file with topk = 64 takes
// the CPU path for its NVE.
//
// Without a GPU, Mesa's llvmpipe under Xvfb gives a 4.5 core context on the CPU
// (scripts/with-xvfb.sh): correct, and slow; scripts/gpu-check.sh finds a hardware
// context on a headless NVIDIA machine.
package gpu
