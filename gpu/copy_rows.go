//go:build cgo && !js

package gpu

import "github.com/ideal-fsad/ideal/kernels"

// CopyRows implements kernels.Backend (shaders/copy_rows.comp).
func (b *backend) CopyRows(dst kernels.Tensor, dstStart int, src kernels.Tensor, srcStart, n int) {
	c := kernels.CheckCopyRows(dst, dstStart, src, srcStart, n)
	b.do(func() {
		b.run(b.program("copy_rows.comp"), [3]int{ceilDiv(n*c, 256), 1, 1},
			[]uint32{b.buf(src, "CopyRows"), b.buf(dst, "CopyRows")},
			"n", uint32(n*c), "srcOff", uint32(srcStart*c), "dstOff", uint32(dstStart*c))
	})
}
