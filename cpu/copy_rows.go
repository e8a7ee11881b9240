package cpu

import "github.com/ideal-fsad/ideal/kernels"

// CopyRows implements kernels.Backend.
func (be *Backend) CopyRows(dst kernels.Tensor, dstStart int, src kernels.Tensor, srcStart, n int) {
	c := kernels.CheckCopyRows(dst, dstStart, src, srcStart, n)
	copy(out(dst)[dstStart*c:(dstStart+n)*c], raw(src)[srcStart*c:(srcStart+n)*c])
}
