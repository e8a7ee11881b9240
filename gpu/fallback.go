//go:build cgo && !js

package gpu

import (
	"unsafe"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/kernels"
)

// onCPU runs an op whose valid operands lie beyond a bound of its GL kernel (see the
// package comment) on the CPU backend instead, so that the op never fails on valid
// input: the tensors args are read back (a tensor given twice, e.g. an output that
// aliases an input, becomes one CPU tensor), run does the op on the CPU copies, and
// the tensors args[outs] are written back. A head with topk = 64 (NVE k ≤ 32) runs
// this way, slower than on the GPU but with the CPU backend's results.
func (b *backend) onCPU(op string, args []kernels.Tensor, outs []int, run func(cb kernels.Backend, t []kernels.Tensor)) {
	read := func(t kernels.Tensor) []float32 {
		d := make([]float32, b.tensor(t, op).n)
		if len(d) > 0 {
			b.do(func() { glReadBuffer(b.buf(t, op), 4*len(d), unsafe.Pointer(&d[0])) })
		}
		return d
	}
	write := func(t kernels.Tensor, d []float32) {
		if len(d) > 0 {
			b.do(func() { glWriteBuffer(b.buf(t, op), 4*len(d), unsafe.Pointer(&d[0])) })
		}
	}
	cpu.New().Fallback(args, outs, read, write, run)
	b.do(func() { b.fallbacks++ })
}
