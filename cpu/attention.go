package cpu

import (
	"math"

	"github.com/ideal-fsad/ideal/kernels"
)

// attnKeyBlock is the number of keys per step of the online softmax (a multiple of
// every micro-kernel's NR).
const attnKeyBlock = 256

// Attention implements kernels.Backend, flash-style: per (head, query block) it
// streams blocks of attnKeyBlock keys, computes that block of logits with the GEMM
// micro-kernel, updates the running row maximum and sum (online softmax), rescales
// the partial output and adds P·V for the block (P read in place by the row-major-A
// micro-kernel, like the scaled Q block). K and V of each head are packed once as
// micro-kernel B panels (Kᵀ: dh×keys, V: keys×dh).
func (be *Backend) Attention(dst, q, k, v, mask kernels.Tensor, heads int, scale float32) {
	nq, nk, c := kernels.CheckAttention(dst, q, k, v, mask, heads)
	Q, K, V, M, D := raw(q), raw(k), raw(v), raw(mask), out(dst)
	kernels.Check(!sameStart(D, Q) && !sameStart(D, K) && !sameStart(D, V), "Attention", "dst aliases an input")
	if nq == 0 {
		return
	}
	kern := be.kern
	mr, nr := kern.mr, kern.nr
	dh := c / heads
	kpan, vpan := (nk+nr-1)/nr, (dh+nr-1)/nr
	kSize, vSize := kpan*dh*nr, vpan*nk*nr // per head
	bufp := bigPool.Get().(*[]float32)
	defer bigPool.Put(bufp)
	buf := grow(bufp, heads*(kSize+vSize))
	kp := func(h int) []float32 { return buf[h*kSize : (h+1)*kSize] }
	vp := func(h int) []float32 { return buf[heads*kSize+h*vSize : heads*kSize+(h+1)*vSize] }

	// Pack Kᵀ (panels of NR keys) and V (panels of NR head columns) per head.
	be.parallel(heads*(kpan+vpan), func(u int, _ *scratch) {
		h, p := u/(kpan+vpan), u%(kpan+vpan)
		if p < kpan {
			dstp := kp(h)[p*dh*nr : (p+1)*dh*nr]
			j0 := p * nr
			nv := min(nr, nk-j0)
			if nv < nr {
				clear(dstp)
			}
			for cc := range nv {
				src := K[(j0+cc)*c+h*dh : (j0+cc)*c+(h+1)*dh]
				for d, x := range src {
					dstp[d*nr+cc] = x
				}
			}
			return
		}
		p -= kpan
		dstp := vp(h)[p*nk*nr : (p+1)*nk*nr]
		d0 := p * nr
		nv := min(nr, dh-d0)
		for j := range nk {
			row := dstp[j*nr : (j+1)*nr]
			copy(row, V[j*c+h*dh+d0:j*c+h*dh+d0+nv])
			clear(row[nv:])
		}
	})

	bq := mr * 8
	qBlocks := (nq + bq - 1) / bq
	ldo := vpan * nr
	be.parallel(heads*qBlocks, func(u int, s *scratch) {
		// Consecutive units share a query block (its rows of Q stay in cache).
		h, i0 := u%heads, (u/heads)*bq
		mv := min(bq, nq-i0)
		rows := (mv + mr - 1) / mr * mr
		aq := grow(&s.a, rows*dh) // scale·Q_h for the block, row-major, zero rows padding
		for r := range mv {
			q := aq[r*dh : (r+1)*dh]
			for d, x := range Q[(i0+r)*c+h*dh : (i0+r)*c+(h+1)*dh] {
				q[d] = x * scale
			}
		}
		clear(aq[mv*dh:])
		S := grow(&s.s, rows*attnKeyBlock)
		O := grow(&s.o, rows*ldo)
		clear(O)
		ml := grow(&s.c, 2*rows)
		mrow, lrow := ml[:rows], ml[rows:]
		for r := range mrow {
			mrow[r], lrow[r] = float32(math.Inf(-1)), 0
		}
		kh, vh := kp(h), vp(h)
		for j0 := 0; j0 < nk; j0 += attnKeyBlock {
			kb := min(attnKeyBlock, nk-j0)
			// S = (scale·Q) Kᵀ for this key block.
			for jt := 0; jt < kb; jt += nr {
				bp := kh[(j0+jt)*dh:]
				for ip := 0; ip < rows; ip += mr {
					kern.fnRowA(dh, aq[ip*dh:], dh, bp, S[ip*attnKeyBlock+jt:], attnKeyBlock, false)
				}
			}
			// Online softmax, in place: S becomes P.
			for r := range mv {
				row := S[r*attnKeyBlock : r*attnKeyBlock+kb]
				if M != nil {
					mk := M[j0 : j0+kb]
					for j := range row {
						row[j] += mk[j]
					}
				}
				mx := max(mrow[r], kern.max(row))
				sum := kern.expShiftSum(row, row, mx)
				if j0 > 0 {
					corr := exp32(mrow[r] - mx)
					lrow[r] *= corr
					if corr != 1 {
						o := O[r*ldo : (r+1)*ldo]
						for d := range o {
							o[d] *= corr
						}
					}
				}
				lrow[r] += sum
				mrow[r] = mx
			}
			// O += P·V for the block, P read in place (rows ≥ mv are ignored garbage).
			for cp := range vpan {
				bp := vh[cp*nk*nr+j0*nr:]
				for ip := 0; ip < rows; ip += mr {
					kern.fnRowA(kb, S[ip*attnKeyBlock:], attnKeyBlock, bp, O[ip*ldo+cp*nr:], ldo, true)
				}
			}
		}
		for r := range mv {
			inv := 1 / lrow[r]
			out := D[(i0+r)*c+h*dh : (i0+r)*c+(h+1)*dh]
			o := O[r*ldo : r*ldo+dh]
			for d := range out {
				out[d] = o[d] * inv
			}
		}
	})
}
