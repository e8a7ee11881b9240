package cpu

import "github.com/ideal-fsad/ideal/kernels"

// Fallback runs one op of another backend on c, for a backend whose kernel cannot
// take some valid operands (the GPU backends' size bounds): each tensor of args is
// read into c with read (a tensor given twice, e.g. an output aliasing an input,
// becomes one CPU tensor; nil stays nil), run does the op on the CPU copies, and the
// CPU results of args[outs] are handed to write. The CPU copies are freed afterwards.
func (c *Backend) Fallback(args []kernels.Tensor, outs []int, read func(kernels.Tensor) []float32,
	write func(kernels.Tensor, []float32), run func(cb kernels.Backend, t []kernels.Tensor)) {
	host := make([]kernels.Tensor, len(args))
	seen := map[kernels.Tensor]kernels.Tensor{}
	for i, t := range args {
		if t == nil {
			continue
		}
		if h, ok := seen[t]; ok {
			host[i] = h
			continue
		}
		host[i] = c.Upload(read(t), t.Shape()...)
		seen[t] = host[i]
	}
	run(c, host)
	for _, i := range outs {
		d, _ := c.Download(host[i]) // the CPU backend's Download does not fail
		write(args[i], d)
	}
	for _, h := range seen {
		c.Free(h)
	}
}
