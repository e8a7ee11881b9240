package cpu

import (
	"sync"
	"unsafe"
)

// microKernel is one code path (pure Go, AVX2, AVX-512). Its GEMM micro-kernel fn
// computes one MR×NR tile of C from a packed A panel (kc×MR, MR values per k step)
// and a packed B panel (kc×NR): C = A·B, or C += A·B when acc is set; c starts at
// the tile's first element and has row stride ldc. The other fields are the vector
// helpers the remaining ops use on the same path.
type microKernel struct {
	name   string
	mr, nr int
	kcMax  int // K block: a packed B panel (kcMax×NR floats) should fit in L1
	// keyBlock is the number of keys per step of Attention's online softmax (a
	// multiple of NR).
	keyBlock int
	fn       func(kc int, a, b, c []float32, ldc int, acc bool)
	// fnRowA is fn reading A in place: MR rows of a row-major matrix, stride lda.
	fnRowA func(kc int, a []float32, lda int, b, c []float32, ldc int, acc bool)
	// max is the maximum of a slice; add and mul are dst += x and dst *= x.
	max      func(x []float32) float32
	add, mul func(dst, x []float32)
	// layerNorm normalises one row (see LayerNorm).
	layerNorm func(dst, x, g, b []float32, eps float32)
	// dot64 and axpy64 are the float64 dot product and dst += alpha·x (NVE).
	dot64  func(a, b []float64) float64
	axpy64 func(dst, x []float64, alpha float64)
	// dst = GELU(x), and dst = exp(x − shift) returning Σ dst (the softmax
	// numerators).
	gelu        func(dst, x []float32)
	expShiftSum func(dst, x []float32, shift float32) float32
}

// tile runs the micro-kernel on a tile of which only mv×nv elements exist, going
// through tmp (MR×NR) when the tile is partial.
func (k *microKernel) tile(kc int, a, b, c []float32, ldc, mv, nv int, acc bool, tmp []float32) {
	if mv == k.mr && nv == k.nr {
		k.fn(kc, a, b, c, ldc, acc)
		return
	}
	k.fn(kc, a, b, tmp, k.nr, false)
	for i := range mv {
		row, t := c[i*ldc:i*ldc+nv], tmp[i*k.nr:i*k.nr+nv]
		if acc {
			for j := range row {
				row[j] += t[j]
			}
		} else {
			copy(row, t)
		}
	}
}

// tileRowA is tile for a full MR-row panel of A read in place (stride lda) and nv
// valid columns.
func (k *microKernel) tileRowA(kc int, a []float32, lda int, b, c []float32, ldc, nv int, acc bool, tmp []float32) {
	if nv == k.nr {
		k.fnRowA(kc, a, lda, b, c, ldc, acc)
		return
	}
	k.fnRowA(kc, a, lda, b, tmp, k.nr, false)
	for i := range k.mr {
		row, t := c[i*ldc:i*ldc+nv], tmp[i*k.nr:i*k.nr+nv]
		if acc {
			for j := range row {
				row[j] += t[j]
			}
		} else {
			copy(row, t)
		}
	}
}

// gemmArgs describe C[m,n] = epilogue(A[m,k] · B) on row-major slices with leading
// dimensions; B is [k,n], or [n,k] used transposed when transB is set.
type gemmArgs struct {
	m, n, k int
	a       []float32
	lda     int
	b       []float32
	ldb     int
	transB  bool
	c       []float32
	ldc     int
	bias    []float32
	gamma   []float32
	gelu    bool
	res     []float32 // may be c itself (same start and ldr == ldc)
	ldr     int
	packed  []float32 // B already packed by packAllB (nil: pack it)
}

// kBlocks splits k into nb nearly equal blocks of at most kcMax.
func kBlocks(k, kcMax int) (nb, kc int) {
	nb = max(1, (k+kcMax-1)/kcMax)
	return nb, (k + nb - 1) / nb
}

// bigPool holds the large shared buffers (packed B, packed K/V of attention).
var bigPool = sync.Pool{New: func() any { return new([]float32) }}

// packB packs columns [j0, j0+nv) and rows [p0, p0+kc) of B into dst (kc×NR),
// zero-padding missing columns.
func packB(dst []float32, g *gemmArgs, p0, kc, j0, nv, nr int) {
	dst = dst[:kc*nr]
	if nv < nr {
		clear(dst)
	}
	if g.transB {
		for c := range nv {
			src := g.b[(j0+c)*g.ldb+p0 : (j0+c)*g.ldb+p0+kc]
			for p, v := range src {
				dst[p*nr+c] = v
			}
		}
		return
	}
	for p := range kc {
		copy(dst[p*nr:p*nr+nv], g.b[(p0+p)*g.ldb+j0:(p0+p)*g.ldb+j0+nv])
	}
}

// packA packs rows [i0, i0+mv) and columns [p0, p0+kc) of a (leading dimension lda)
// into dst (kc×MR), zero-padding missing rows.
func packA(dst, a []float32, lda, i0, mv, p0, kc, mr int) {
	dst = dst[:kc*mr]
	if mv < mr {
		clear(dst)
	}
	for r := range mv {
		src := a[(i0+r)*lda+p0 : (i0+r)*lda+p0+kc]
		for p, v := range src {
			dst[p*mr+r] = v
		}
	}
}

// gemm computes g on the backend's threads.
func (be *Backend) gemm(g *gemmArgs) {
	if g.m == 0 || g.n == 0 {
		return
	}
	kern := be.kern
	mr, nr := kern.mr, kern.nr
	if g.k == 0 {
		for i := range g.m {
			clear(g.c[i*g.ldc : i*g.ldc+g.n])
		}
		for i := range g.m {
			var rr []float32
			if g.res != nil {
				rr = g.res[i*g.ldr : i*g.ldr+g.n]
			}
			epilogueRow(kern, g, g.c[i*g.ldc:i*g.ldc+g.n], 0, rr)
		}
		return
	}
	nkb, kc := kBlocks(g.k, kern.kcMax)
	npan := (g.n + nr - 1) / nr
	pb := g.packed
	if pb == nil {
		bufp := bigPool.Get().(*[]float32)
		defer bigPool.Put(bufp)
		pb = grow(bufp, g.k*npan*nr)
		be.packAllB(pb, g)
	}

	aliased := sameStart(g.res, g.c)
	mc, nc := blockSizes(g.m, g.n, mr, nr, be.threads)
	mBlocks, nBlocks := (g.m+mc-1)/mc, (g.n+nc-1)/nc
	be.parallel(mBlocks*nBlocks, func(u int, s *scratch) {
		i0, j0 := (u/nBlocks)*mc, (u%nBlocks)*nc
		mv, nv := min(mc, g.m-i0), min(nc, g.n-j0)
		// The residual of the unit's first row and its stride.
		res, ldr := g.res, g.ldr
		if res != nil {
			res = res[i0*ldr+j0:]
		}
		if aliased { // keep the residual before C is overwritten by partial sums
			snap := grow(&s.c, mv*nv)
			for i := range mv {
				copy(snap[i*nv:(i+1)*nv], g.c[(i0+i)*g.ldc+j0:(i0+i)*g.ldc+j0+nv])
			}
			res, ldr = snap, nv
		}
		tmp := grow(&s.tile, mr*nr)
		full := mv / mr * mr // rows of complete micro-panels: A is read in place
		ap := grow(&s.a, mr*kc)
		for blk := range nkb {
			p0 := blk * kc
			kcb := min(kc, g.k-p0)
			if full < mv { // the last, partial micro-panel is packed with zero rows
				packA(ap, g.a, g.lda, i0+full, mv-full, p0, kcb, mr)
			}
			for jj := 0; jj < nv; jj += nr {
				j := j0 + jj
				bp := pb[p0*npan*nr+(j/nr)*kcb*nr:]
				nvv := min(nr, g.n-j)
				for ip := 0; ip < mv; ip += mr {
					i := i0 + ip
					c := g.c[i*g.ldc+j:]
					if ip < full {
						kern.tileRowA(kcb, g.a[i*g.lda+p0:], g.lda, bp, c, g.ldc, nvv, blk > 0, tmp)
					} else {
						kern.tile(kcb, ap, bp, c, g.ldc, mv-ip, nvv, blk > 0, tmp)
					}
				}
			}
		}
		for r := range mv {
			var rr []float32
			if res != nil {
				rr = res[r*ldr : r*ldr+nv]
			}
			epilogueRow(kern, g, g.c[(i0+r)*g.ldc+j0:(i0+r)*g.ldc+j0+nv], j0, rr)
		}
	})
}

// packAllB packs all of B for the backend's micro-kernel: K block blk holds npan
// panels of kcb×NR floats, starting at blk·kc·npan·NR.
func (be *Backend) packAllB(pb []float32, g *gemmArgs) {
	nr := be.kern.nr
	nkb, kc := kBlocks(g.k, be.kern.kcMax)
	npan := (g.n + nr - 1) / nr
	be.parallel(nkb*npan, func(u int, _ *scratch) {
		blk, jp := u/npan, u%npan
		p0 := blk * kc
		kcb := min(kc, g.k-p0)
		j0 := jp * nr
		packB(pb[p0*npan*nr+jp*kcb*nr:], g, p0, kcb, j0, min(nr, g.n-j0), nr)
	})
}

// blockSizes picks the row and column block of one unit of work. A unit packs its
// A block once per K block and sweeps all its B panels, so columns are split only
// when there are too few row blocks to keep every thread busy and balanced (about
// 4 units per thread), and row blocks shrink from 16 to 4 micro-panels before that.
func blockSizes(m, n, mr, nr, threads int) (mc, nc int) {
	want := 4 * threads
	mc = mr * 16
	for mc > mr*4 && (m+mc-1)/mc < want {
		mc /= 2
	}
	mBlocks := (m + mc - 1) / mc
	nPanels := (n + nr - 1) / nr
	nBlocks := min(nPanels, max(1, (want+mBlocks-1)/mBlocks))
	nc = (nPanels + nBlocks - 1) / nBlocks * nr
	return mc, nc
}

// epilogueRow applies bias, GELU, gamma and the residual res (nil if none) to row,
// the part of a row of C that starts at column j.
func epilogueRow(kern *microKernel, g *gemmArgs, row []float32, j int, res []float32) {
	if g.bias != nil {
		kern.add(row, g.bias[j:j+len(row)])
	}
	if g.gelu {
		kern.gelu(row, row)
	}
	if g.gamma != nil {
		kern.mul(row, g.gamma[j:j+len(row)])
	}
	if res != nil {
		kern.add(row, res)
	}
}

// sameStart reports whether two slices begin at the same element.
func sameStart(a, b []float32) bool {
	return len(a) > 0 && len(b) > 0 && unsafe.Pointer(&a[0]) == unsafe.Pointer(&b[0])
}
