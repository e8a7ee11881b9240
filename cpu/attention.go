package cpu

import (
	"math"

	"github.com/ideal-fsad/ideal/kernels"
)

// attnArgs is one Attention call: the operands (row-major, C wide), their sizes and
// the packed K and V panels of every head.
type attnArgs struct {
	kern          *microKernel
	Q, K, V, M, D []float32 // M: mask logits [nk] or nil
	nq, nk, c, dh int
	heads         int
	scale         float32
	kpan, vpan    int       // panels of NR keys (Kᵀ) and of NR head columns (V) per head
	kSize, vSize  int       // packed floats per head
	buf           []float32 // heads·kSize packed Kᵀ, then heads·vSize packed V
}

// kp returns the packed Kᵀ panels (dh×keys) of head h.
func (a *attnArgs) kp(h int) []float32 { return a.buf[h*a.kSize : (h+1)*a.kSize] }

// vp returns the packed V panels (keys×dh) of head h.
func (a *attnArgs) vp(h int) []float32 {
	return a.buf[a.heads*a.kSize+h*a.vSize : a.heads*a.kSize+(h+1)*a.vSize]
}

// Attention implements kernels.Backend, flash-style: per (head, query block) it
// streams blocks of keys (the micro-kernel's keyBlock), computes that block of logits with the GEMM
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
	a := &attnArgs{kern: kern, Q: Q, K: K, V: V, M: M, D: D, nq: nq, nk: nk, c: c, dh: dh,
		heads: heads, scale: scale, kpan: kpan, vpan: vpan, kSize: kSize, vSize: vSize,
		buf: grow(bufp, heads*(kSize+vSize))}

	be.parallel(heads*(kpan+vpan), func(u int, _ *scratch) { a.pack(u) })

	bq := mr * 8
	qBlocks := (nq + bq - 1) / bq
	be.parallel(heads*qBlocks, func(u int, s *scratch) {
		// Consecutive units share a query block (its rows of Q stay in cache).
		h, i0 := u%heads, (u/heads)*bq
		a.queryBlock(h, i0, min(bq, nq-i0), s)
	})
}

// pack packs one panel, unit u of heads·(kpan+vpan): per head first the Kᵀ panels of
// NR keys, then the V panels of NR head columns (both zero-padded).
func (a *attnArgs) pack(u int) {
	nr, dh, c, nk := a.kern.nr, a.dh, a.c, a.nk
	h, p := u/(a.kpan+a.vpan), u%(a.kpan+a.vpan)
	if p < a.kpan {
		dstp := a.kp(h)[p*dh*nr : (p+1)*dh*nr]
		j0 := p * nr
		nv := min(nr, nk-j0)
		if nv < nr {
			clear(dstp)
		}
		for cc := range nv {
			src := a.K[(j0+cc)*c+h*dh : (j0+cc)*c+(h+1)*dh]
			for d, x := range src {
				dstp[d*nr+cc] = x
			}
		}
		return
	}
	p -= a.kpan
	dstp := a.vp(h)[p*nk*nr : (p+1)*nk*nr]
	d0 := p * nr
	nv := min(nr, dh-d0)
	for j := range nk {
		row := dstp[j*nr : (j+1)*nr]
		copy(row, a.V[j*c+h*dh+d0:j*c+h*dh+d0+nv])
		clear(row[nv:])
	}
}

// queryBlock computes head h of the mv output rows from query row i0 on: it streams
// the key blocks through the online softmax, accumulating P·V, and writes the
// normalised result into D.
func (a *attnArgs) queryBlock(h, i0, mv int, s *scratch) {
	kern := a.kern
	mr, nr := kern.mr, kern.nr
	c, dh, nk, scale := a.c, a.dh, a.nk, a.scale
	vpan := a.vpan
	ldo := vpan * nr
	rows := (mv + mr - 1) / mr * mr
	aq := grow(&s.a, rows*dh) // scale·Q_h for the block, row-major, zero rows padding
	for r := range mv {
		q := aq[r*dh : (r+1)*dh]
		for d, x := range a.Q[(i0+r)*c+h*dh : (i0+r)*c+(h+1)*dh] {
			q[d] = x * scale
		}
	}
	clear(aq[mv*dh:])
	kblk := kern.keyBlock
	S := grow(&s.s, rows*kblk)
	O := grow(&s.o, rows*ldo)
	clear(O)
	ml := grow(&s.c, 2*rows)
	mrow, lrow := ml[:rows], ml[rows:]
	for r := range mrow {
		mrow[r], lrow[r] = float32(math.Inf(-1)), 0
	}
	kh, vh := a.kp(h), a.vp(h)
	for j0 := 0; j0 < nk; j0 += kblk {
		kb := min(kblk, nk-j0)
		// S = (scale·Q) Kᵀ for this key block.
		for jt := 0; jt < kb; jt += nr {
			bp := kh[(j0+jt)*dh:]
			for ip := 0; ip < rows; ip += mr {
				kern.fnRowA(dh, aq[ip*dh:], dh, bp, S[ip*kblk+jt:], kblk, false)
			}
		}
		a.onlineSoftmax(S, O, mrow, lrow, j0, kb, mv)
		// O += P·V for the block, P read in place (rows ≥ mv are ignored garbage).
		for cp := range vpan {
			bp := vh[cp*nk*nr+j0*nr:]
			for ip := 0; ip < rows; ip += mr {
				kern.fnRowA(kb, S[ip*kblk:], kblk, bp, O[ip*ldo+cp*nr:], ldo, true)
			}
		}
	}
	for r := range mv {
		inv := 1 / lrow[r]
		out := a.D[(i0+r)*c+h*dh : (i0+r)*c+(h+1)*dh]
		o := O[r*ldo : r*ldo+dh]
		for d := range out {
			out[d] = o[d] * inv
		}
	}
}

// onlineSoftmax turns the logits S of the key block [j0, j0+kb) of the first mv rows
// into softmax numerators in place (after adding the mask logits), updating the running
// row maxima mrow and sums lrow and rescaling the partial outputs O (row stride
// vpan·NR) when a row's maximum grows.
func (a *attnArgs) onlineSoftmax(S, O, mrow, lrow []float32, j0, kb, mv int) {
	kern := a.kern
	kblk := kern.keyBlock
	ldo := a.vpan * kern.nr
	for r := range mv {
		row := S[r*kblk : r*kblk+kb]
		if a.M != nil {
			mk := a.M[j0 : j0+kb]
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
}
