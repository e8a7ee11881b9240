// Package cpu is the fast CPU implementation of kernels.Backend: pure Go (no cgo),
// so it also builds for js/wasm, with optional amd64 assembly (files tagged
// `amd64 && !noasm`): AVX-512F (12×32) and AVX2+FMA (6×16) GEMM micro-kernels and
// vector exp, GELU, LayerNorm, max and float64 dot/axpy, chosen at run time from the
// CPU's features (golang.org/x/sys/cpu).
// The pure-Go twins are used with -tags noasm, on other architectures, on CPUs
// without AVX2/FMA, and on request (WithPureGo). Name reports the path in use:
// "cpu/avx512", "cpu/avx2" or "cpu/go".
//
// Design:
//   - MatMul is a blocked GEMM in the GotoBLAS style: B is packed into panels of NR
//     columns per K block (for a weight, once: the panels are cached on the tensor
//     and dropped when any op writes it), a register-blocked MR×NR micro-kernel reads
//     MR rows of A in place and computes each tile, and the Epilogue (bias, GELU,
//     LayerScale, residual) runs over each unit's rows while they are in cache.
//     Work is split over row (and, for many threads, column) blocks across Threads
//     goroutines.
//   - Attention is flash-style: per (head, query block) it streams key blocks,
//     keeps an online softmax (running max and sum) and never holds more than a
//     query-block × key-block matrix of logits.
//   - CosineTopK normalises the rows and runs the same GEMM over blocks of rows,
//     keeping a partial top-k selection per row.
//   - NVE solves each k×k eigenproblem with gonum's symmetric eigensolver (Dsyev).
//   - Row ops (LayerNorm, AddScaled) run in parallel over rows; the exp of the
//     attention softmax and the erf of MatMul's GELU epilogue use float32 polynomial
//     approximations accurate to a few ulps.
//
// Scratch memory is pooled, so a model that reuses its tensors runs without
// allocation in the steady state (a few small allocations per op for goroutines).
// Cached weight panels cost about the weights' size again.
//
// Tests and benchmarks (see also kernels/kerneltest):
//
//	go test ./cpu/                  # parity suite on every path (-short: small cases)
//	go test -tags noasm ./cpu/      # the pure-Go build
//	go test -run XXX -bench 'MatMul|Block' -benchtime 10x ./cpu/
package cpu
