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
	c := cpu.New()
	host := make([]kernels.Tensor, len(args))
	b.do(func() {
		seen := map[*tensor]kernels.Tensor{}
		for i, t := range args {
			if t == nil {
				continue
			}
			tt := b.tensor(t, op)
			if h, ok := seen[tt]; ok {
				host[i] = h
				continue
			}
			d := make([]float32, tt.n)
			if tt.n > 0 {
				glReadBuffer(b.buf(t, op), 4*tt.n, unsafe.Pointer(&d[0]))
			}
			host[i] = c.Upload(d, tt.shape...)
			seen[tt] = host[i]
		}
	})
	run(c, host)
	b.do(func() {
		for _, i := range outs {
			d, _ := c.Download(host[i]) // the CPU backend's Download does not fail
			if len(d) > 0 {
				glWriteBuffer(b.buf(args[i], op), 4*len(d), unsafe.Pointer(&d[0]))
			}
		}
		b.fallbacks++
	})
}
