// Package cpu is the fast CPU implementation of kernels.Backend: pure Go (no cgo),
// so it also builds for js/wasm, with optional amd64 AVX2+FMA assembly micro-kernels
// (files tagged `amd64 && !noasm`; the pure-Go twins are used with -tags noasm, on
// other architectures, and at run time on CPUs without AVX2/FMA).
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
//   - NVE solves each k×k eigenproblem with gonum's EigenSym.
//   - Row ops (LayerNorm, GELU, Softmax) run in parallel over rows; exp and erf use
//     float32 polynomial approximations accurate to a few ulps.
//
// Scratch memory is pooled, so a model that reuses its tensors runs without
// allocation in the steady state (NVE's eigen-solver excepted).
package cpu
