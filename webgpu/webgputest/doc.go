// Package webgputest gives tests outside package webgpu a WebGPU backend with the
// project's policy: without a WebGPU adapter (Node, or a browser without WebGPU:
// headless Chromium on Linux needs --enable-unsafe-webgpu) the test is skipped,
// unless the test binary's -webgpu.require flag (which internal/wasmbrowser passes)
// makes that a failure; any error other than webgpu.ErrUnavailable fails. It is
// empty outside js/wasm.
package webgputest
