package train

import "runtime"

// params32 are Params in float32 (the parameters, or a worker's gradient sums), in
// the order of Params.fields.
type params32 struct {
	C, M, Heads                                                         int
	T, InW, InB, OutW, OutB, N1W, N1B, FC1W, FC1B, FC2W, FC2B, N2W, N2B []float32
}

func (q *params32) fields() []*[]float32 {
	return []*[]float32{&q.T, &q.InW, &q.InB, &q.OutW, &q.OutB, &q.N1W, &q.N1B, &q.FC1W, &q.FC1B, &q.FC2W, &q.FC2B, &q.N2W, &q.N2B}
}

// fits reports whether q is shaped like p.
func (q *params32) fits(p *Params) bool {
	return q.C == p.C && q.M == p.M && q.Heads == p.Heads && q.T != nil
}

// fit shapes q like p, reallocating only when the shape changes.
func (q *params32) fit(p *Params) {
	if q.fits(p) {
		return
	}
	q.C, q.M, q.Heads = p.C, p.M, p.Heads
	qf := q.fields()
	for k, f := range p.fields() {
		*qf[k] = make([]float32, f.n)
	}
}

// set rounds p to float32 into q.
func (q *params32) set(p *Params) {
	q.fit(p)
	qf, pf := q.fields(), p.fields()
	chunks(pf, func(k, lo, hi int) {
		dst := (*qf[k])[lo:hi]
		for i, v := range (*pf[k].v)[lo:hi] {
			dst[i] = float32(v)
		}
	})
}

// chunkSize is the most values of a chunk of chunks.
const chunkSize = 1 << 15

// chunks runs fn on every field of fs cut into chunks [lo, hi), on all cores.
func chunks(fs []field, fn func(k, lo, hi int)) {
	type chunk struct{ k, lo, hi int }
	var cs []chunk
	for k, f := range fs {
		for lo := 0; lo < len(*f.v); lo += chunkSize {
			cs = append(cs, chunk{k, lo, min(lo+chunkSize, len(*f.v))})
		}
	}
	parallelFor(len(cs), runtime.GOMAXPROCS(0), func(u int) { fn(cs[u].k, cs[u].lo, cs[u].hi) })
}

func (q *params32) zero() {
	for _, f := range q.fields() {
		clear(*f)
	}
}

// addTo adds q to g.
func (q *params32) addTo(g *Params) {
	qf, gf := q.fields(), g.fields()
	chunks(gf, func(k, lo, hi int) {
		dst := (*gf[k].v)[lo:hi]
		for i, v := range (*qf[k])[lo:hi] {
			dst[i] += float64(v)
		}
	})
}

// sumInto writes into g the workers' gradient sums added in order, in one pass (as
// g.Zero followed by each worker's addTo, with the same float64 additions).
func sumInto(g *Params, ws []*ws32) {
	gf := g.fields()
	wf := make([][]*[]float32, len(ws))
	for i, w := range ws {
		wf[i] = w.grad.fields()
	}
	chunks(gf, func(k, lo, hi int) {
		dst := (*gf[k].v)[lo:hi]
		clear(dst)
		for _, f := range wf {
			for i, v := range (*f[k])[lo:hi] {
				dst[i] += float64(v)
			}
		}
	})
}
