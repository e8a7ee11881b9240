// Package cpu is the fast CPU implementation of kernels.Backend: pure Go (no cgo),
// so it also builds for js/wasm, with optional amd64 assembly (files tagged
// `amd64 && !noasm`): AVX-512 and AVX2+FMA GEMM micro-kernels and AVX2 vector
// exp/GELU/max, chosen at run time from the CPU's features (golang.org/x/sys/cpu).
// The pure-Go twins are used with -tags noasm, on other architectures, on CPUs
// without AVX2/FMA, and on request (WithPureGo). Name reports the path in use:
// "cpu/avx512", "cpu/avx2" or "cpu/go".
//
// Design:
//   - MatMul is a packed, blocked GEMM in the GotoBLAS style: B is packed into panels
//     of NR columns per K block, each worker packs MR-row panels of A, and a
//     register-blocked MR×NR micro-kernel computes each tile; the Epilogue (bias,
//     GELU, LayerScale, residual) is applied to each tile while it is in cache.
//     Work is split over row×column blocks across Threads goroutines.
//   - Attention is flash-style: per (head, query block) it streams key blocks,
//     keeps an online softmax (running max and sum) and never holds more than a
//     query-block × key-block matrix of logits.
//   - CosineTopK normalises the rows and runs the same GEMM over blocks of rows,
//     keeping a partial top-k selection per row.
//   - NVE solves each k×k eigenproblem with gonum's symmetric eigensolver (Dsyev).
//   - Row ops (LayerNorm, GELU, Softmax) run in parallel over rows; exp and erf use
//     float32 polynomial approximations accurate to a few ulps.
//
// Scratch memory is pooled, so a model that reuses its tensors runs without
// allocation in the steady state (a few small allocations per op for goroutines).
package cpu
