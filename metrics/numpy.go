package metrics

import "math"

// The NumPy 1.24 arithmetic that the authors' P-PRO (AuthorsPROAccumulator) goes
// through, reproduced operation for operation so that its rounding and its order of
// tied points are theirs: np.linspace, np.add.reduce (pairwise summation), the
// default np.argsort (introsort, not stable) and np.isclose.

// numpyLinspace is np.linspace(start, stop, n) for n ≥ 2: i·step + start with
// step = (stop − start)/(n − 1), the last value set to stop exactly.
func numpyLinspace(start, stop float64, n int) []float64 {
	out := make([]float64, n)
	step := (stop - start) / float64(n-1)
	for i := range out {
		// y = arange·step, then y += start: two roundings (the conversions keep
		// the compiler from fusing them).
		if step == 0 { // NumPy's path for denormal steps: i/(n−1)·delta
			out[i] = float64(float64(i)/float64(n-1)*(stop-start)) + start
		} else {
			out[i] = float64(float64(i)*step) + start
		}
	}
	out[n-1] = stop
	return out
}

// numpyBlock is NumPy's PW_BLOCKSIZE: pairwise summation below it is an 8-way
// unrolled loop.
const numpyBlock = 128

// numpySum is np.add.reduce of a contiguous float64 array: NumPy's pairwise
// summation (pairwise_sum_DOUBLE), added to the identity 0.
func numpySum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, v := range a {
			res += v
		}
		return 0 + res
	case n <= numpyBlock:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += a[i+j]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return 0 + res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return numpySum(a[:n2]) + numpySum(a[n2:])
	}
}

// numpyMean is np.mean of a float64 array: the pairwise sum divided by the count.
func numpyMean(a []float64) float64 { return numpySum(a) / float64(len(a)) }

// numpyTrapz is np.trapz(y, x): Σ (x[i+1] − x[i])·(y[i+1] + y[i]) / 2, summed pairwise.
func numpyTrapz(y, x []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	terms := make([]float64, len(x)-1)
	for i := range terms {
		terms[i] = (x[i+1] - x[i]) * (y[i+1] + y[i]) / 2.0
	}
	return numpySum(terms)
}

// numpyIsClose is np.isclose(a, b) with its defaults rtol 1e-5, atol 1e-8.
func numpyIsClose(a, b float64) bool { return math.Abs(a-b) <= 1e-8+float64(1e-5*math.Abs(b)) }

// numpyLess is NumPy's ordering of doubles for sorting: NaNs last.
func numpyLess(a, b float64) bool { return a < b || (b != b && a == a) }

// numpyArgsort is np.argsort(v) with the default kind, NumPy 1.24's aquicksort_ for
// doubles: an introsort (median-of-3 quicksort down to 16 elements, then insertion
// sort; heapsort past a depth of 2·⌊log2 n⌋) that is not stable: tied values may
// come out in another order than they went in, and which one does matters to a
// trapezoid over (FPR, PRO) points that tie on FPR.
func numpyArgsort(v []float64) []int {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	type span struct{ l, r, depth int }
	var stack []span
	pl, pr := 0, len(v)-1
	depth := 2 * msb(len(v))
	for {
		if depth < 0 {
			numpyHeapsort(v, idx[pl:pr+1])
		} else {
			for pr-pl > 15 {
				pi := numpyPartition(v, idx, pl, pr)
				depth--
				// Continue with the smaller side, the larger one waits on the stack.
				if pi-pl < pr-pi {
					stack = append(stack, span{pi + 1, pr, depth})
					pr = pi - 1
				} else {
					stack = append(stack, span{pl, pi - 1, depth})
					pl = pi + 1
				}
			}
			numpyInsertion(v, idx, pl, pr)
		}
		if len(stack) == 0 {
			return idx
		}
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		pl, pr, depth = s.l, s.r, s.depth
	}
}

// msb is npy_get_msb: the index of the highest set bit of n > 0.
func msb(n int) int {
	d := 0
	for n >>= 1; n > 0; n >>= 1 {
		d++
	}
	return d
}

// numpyPartition is one median-of-3 partition step of aquicksort_ on idx[pl..pr];
// it returns the pivot's final position.
func numpyPartition(v []float64, idx []int, pl, pr int) int {
	pm := pl + (pr-pl)>>1
	if numpyLess(v[idx[pm]], v[idx[pl]]) {
		idx[pm], idx[pl] = idx[pl], idx[pm]
	}
	if numpyLess(v[idx[pr]], v[idx[pm]]) {
		idx[pr], idx[pm] = idx[pm], idx[pr]
	}
	if numpyLess(v[idx[pm]], v[idx[pl]]) {
		idx[pm], idx[pl] = idx[pl], idx[pm]
	}
	vp := v[idx[pm]]
	pi, pj := pl, pr-1
	idx[pm], idx[pj] = idx[pj], idx[pm]
	for {
		for pi++; numpyLess(v[idx[pi]], vp); pi++ {
		}
		for pj--; numpyLess(vp, v[idx[pj]]); pj-- {
		}
		if pi >= pj {
			break
		}
		idx[pi], idx[pj] = idx[pj], idx[pi]
	}
	idx[pi], idx[pr-1] = idx[pr-1], idx[pi]
	return pi
}

// numpyInsertion is aquicksort_'s insertion sort of idx[pl..pr] (stable).
func numpyInsertion(v []float64, idx []int, pl, pr int) {
	for i := pl + 1; i <= pr; i++ {
		vi := idx[i]
		vp := v[vi]
		j := i
		for ; j > pl && numpyLess(vp, v[idx[j-1]]); j-- {
			idx[j] = idx[j-1]
		}
		idx[j] = vi
	}
}

// numpyHeapsort is NumPy's aheapsort_ of the indices a by their values in v.
func numpyHeapsort(v []float64, a []int) {
	n := len(a)
	at := func(i int) *int { return &a[i-1] } // 1-based, as NumPy's a = tosort − 1
	sift := func(i, n, tmp int) {
		for j := 2 * i; j <= n; {
			if j < n && numpyLess(v[*at(j)], v[*at(j + 1)]) {
				j++
			}
			if !numpyLess(v[tmp], v[*at(j)]) {
				break
			}
			*at(i) = *at(j)
			i, j = j, 2*j
		}
		*at(i) = tmp
	}
	for l := n >> 1; l > 0; l-- {
		sift(l, n, *at(l))
	}
	for ; n > 1; n-- {
		tmp := *at(n)
		*at(n) = *at(1)
		sift(1, n-1, tmp)
	}
}
