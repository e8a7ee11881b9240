// Package webgpu is the WebGPU implementation of kernels.Backend, for the browser
// (GOOS=js GOARCH=wasm): tensors are GPUBuffers and the ops are WGSL compute kernels
// (wgsl/*.wgsl, ports of the GLSL kernels in shaders/, one file per op named alike).
//
// Every op has a WGSL kernel. Operands beyond a kernel's limits on the adapter
// (workgroup size, workgroup storage, binding size, grid) or its own (NVE: k ≤ 32,
// r ≤ 8) run on the CPU backend instead: the inputs are downloaded, the op runs on
// cpu.New(cpu.WithThreads(1)) and the result is written back, so the backend is
// complete and always correct. Backend.Fallbacks lists those runs with their reasons.
//
// WGSL has no f64: where a GLSL kernel computes in double (NVE's k×k Gram matrix and
// its Jacobi eigensolver), the WGSL one computes in float32, the Gram dots over the
// centred neighbours and the Jacobi sweeps stopping relative to the matrix norm; on
// the parity suite that stays near a normalised MSE of 1e-14 against the float64
// reference (wgsl/nve.wgsl says how).
//
// Submission: ops are recorded, not run one by one: every dispatch goes into one
// open compute pass of one command encoder (WebGPU orders the dispatches of a pass),
// which is submitted when the host needs a result (Download), before a write into a
// buffer the recorded work uses, and every 64 dispatches so the GPU starts on a long
// pass. A backbone forward is thus a few submits and one read-back of its output.
//
// Kernel variants by adapter: on an adapter that runs shaders on the CPU (SwiftShader,
// what headless Chromium without a GPU gives, or the fallback adapter) MatMul uses
// wgsl/matmul_direct.wgsl, which reads its operands straight from the buffers with no
// workgroup memory and no barriers: there, barriers cost more than the reuse they buy
// (3–4× faster per transformer block, BenchmarkKernels). On a GPU the tiled
// wgsl/matmul.wgsl runs, as the GL backend's matmul.comp.
//
// Blocking: Download (and a CPU fallback, which downloads its inputs) waits for a
// JavaScript promise (GPUBuffer.mapAsync), which a Go goroutine may do in js/wasm:
// the runtime yields to the event loop. It must not happen inside a synchronous
// JavaScript→Go callback (a js.Func called by JavaScript), which would deadlock;
// call the backend from a goroutine. New waits for requestAdapter and requestDevice
// the same way.
//
// On other platforms New returns an error wrapping ErrUnavailable.
package webgpu

import "errors"

// ErrUnavailable is wrapped by New's error when there is no WebGPU: not a browser,
// no navigator.gpu (Chromium on Linux needs --enable-unsafe-webgpu), no adapter or
// no device.
var ErrUnavailable = errors.New("webgpu: unavailable")
