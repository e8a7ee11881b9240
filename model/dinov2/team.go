package dinov2

import (
	"errors"
	"fmt"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/tensor"
)

// A Team splits forward passes over several copies of one model that cannot share
// memory (the browser's Web Workers, each running its own WebAssembly instance): the
// member of rank r computes the token rows [r·T/n, (r+1)·T/n) of every activation, and
// the members exchange K and V once per block (Attention needs every key; one
// AllGather carries both) and the final tokens once. Everything else in a transformer
// block is per token.
type Team interface {
	// Members is the number of copies taking part, Rank this copy's index; rank 0
	// is the one that runs the method and starts passes.
	Members() int
	Rank() int
	// Begin (rank 0) hands a pass's input to the other members.
	Begin(pixels []float32, size int) error
	// AllGather contributes local, this member's rows, which start at float offset
	// off of the gathered whole, and returns once all holds every member's rows.
	AllGather(local []float32, off int, all []float32) error
}

// ErrTeam wraps a failed exchange between the members of a Team.
var ErrTeam = errors.New("dinov2: team")

// SetTeam makes Features (on rank 0) split its passes over team (nil, or a team of
// one: passes on this copy alone). Forward, whose result stays on the backend, is
// never split.
func (m *Model) SetTeam(t Team) {
	m.mu.Lock()
	m.team, m.teamErr = t, nil
	m.mu.Unlock()
}

// SetProgress sets a function called after each transformer block of a pass with the
// blocks done and the total (nil: none), e.g. to show progress on slow devices.
func (m *Model) SetProgress(f func(done, total int)) {
	m.mu.Lock()
	m.progress = f
	m.mu.Unlock()
}

// FollowPass runs a member's share (rank ≥ 1) of the pass that rank 0 began with
// pixels: the caller received them through its Team.
func (m *Model) FollowPass(b kernels.Backend, t Team, pixels []float32, size int) error {
	if err := m.CheckInput(pixels, size); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.teamForward(b, t, pixels, size)
	return err
}

// rowsOf is the share of rank r of n members in t rows: [lo, hi).
func rowsOf(t, r, n int) (lo, hi int) { return t * r / n, t * (r + 1) / n }

// teamWork holds a member's activations (its rows), the gathered K and V [T, C] and
// the host buffers of the exchanges.
type teamWork struct {
	acts
	kAll, vAll        kernels.Tensor
	local, all, whole []float32 // host buffers of the exchanges
}

func (w *teamWork) free(b kernels.Backend) {
	for _, t := range []kernels.Tensor{w.x, w.h, w.q, w.k, w.v, w.att, w.mlp, w.kAll, w.vAll} {
		b.Free(t)
	}
}

// teamForward is forward split over a team: this member computes its rows, and the
// result (rank 0's) is the whole [N, C] of patch features in the workspace.
func (m *Model) teamForward(b kernels.Backend, t Team, pixels []float32, size int) (kernels.Tensor, error) {
	s := m.bind(b)
	w := m.workspace(b, s, size)
	m.embed(b, s, w, pixels, size)
	c, tokens := m.Width, w.tokens
	lo, hi := rowsOf(tokens, t.Rank(), t.Members())
	rows := hi - lo
	tw := &teamWork{acts: acts{x: b.Zeros(rows, c), h: b.Zeros(rows, c), q: b.Zeros(rows, c), k: b.Zeros(rows, c),
		v: b.Zeros(rows, c), att: b.Zeros(rows, c), mlp: b.Zeros(rows, 4*c)},
		kAll: b.Zeros(tokens, c), vAll: b.Zeros(tokens, c),
		local: make([]float32, 2*rows*c), all: make([]float32, 2*tokens*c), whole: make([]float32, tokens*c)}
	defer tw.free(b)
	b.CopyRows(tw.x, 0, w.x, lo, rows)
	// exchange gathers the members' rows of each of srcs (all [rows, C]) in one
	// AllGather, member by member ([its rows of srcs[0]; of srcs[1]; …]), and writes
	// each whole [T, C] into dsts.
	exchange := func(dsts []kernels.Tensor, srcs ...kernels.Tensor) error {
		n := len(srcs)
		local := tw.local[:n*rows*c]
		for i, src := range srcs {
			if err := readInto(b, local[i*rows*c:(i+1)*rows*c], src); err != nil {
				return err
			}
		}
		all := tw.all[:n*tokens*c]
		if err := t.AllGather(local, n*lo*c, all); err != nil {
			return fmt.Errorf("%w: %w", ErrTeam, err)
		}
		for i, dst := range dsts {
			whole := tw.whole[:tokens*c]
			for r := range t.Members() {
				rlo, rhi := rowsOf(tokens, r, t.Members())
				blk := all[n*rlo*c : n*rhi*c]
				copy(whole[rlo*c:rhi*c], blk[i*(rhi-rlo)*c:(i+1)*(rhi-rlo)*c])
			}
			writeFrom(b, dst, whole)
		}
		return nil
	}
	keys := func() (kernels.Tensor, kernels.Tensor, error) {
		if err := exchange([]kernels.Tensor{tw.kAll, tw.vAll}, tw.k, tw.v); err != nil {
			return nil, nil, err
		}
		return tw.kAll, tw.vAll, nil
	}
	for i, k := range s.blocks {
		if err := m.block(b, k, &tw.acts, keys); err != nil {
			return nil, err
		}
		m.report(i+1, len(s.blocks))
	}
	if err := exchange([]kernels.Tensor{w.x}, tw.x); err != nil {
		return nil, err
	}
	return m.finalNorm(b, s, w, w.x), nil
}

// readInto copies t to dst, without allocating where the backend can (HostIO).
func readInto(b kernels.Backend, dst []float32, t kernels.Tensor) error {
	if io, ok := b.(kernels.HostIO); ok {
		return io.Read(dst, t)
	}
	d, err := b.Download(t)
	copy(dst, d)
	return err
}

// writeFrom copies src into t, without allocating where the backend can (HostIO).
func writeFrom(b kernels.Backend, t kernels.Tensor, src []float32) {
	if io, ok := b.(kernels.HostIO); ok {
		io.Write(t, src)
		return
	}
	u := b.Upload(src, t.Shape()...)
	b.CopyRows(t, 0, u, 0, t.Shape()[0])
	b.Free(u)
}

// report calls the progress function, if any.
func (m *Model) report(done, total int) {
	if m.progress != nil {
		m.progress(done, total)
	}
}

// teamFeatures is rank 0's Features through its team. When the team fails, the pass
// runs again on this copy alone and the team is dropped for good (a member may be out
// of step): TeamError says why.
func (m *Model) teamFeatures(b kernels.Backend, pixels []float32, size int) (*tensor.Dense, error) {
	out, err := m.teamPass(b, pixels, size)
	if err != nil {
		m.team, m.teamErr = nil, err
		out = m.forward(b, pixels, size)
	}
	return m.download(b, out, size)
}

func (m *Model) teamPass(b kernels.Backend, pixels []float32, size int) (kernels.Tensor, error) {
	if err := m.team.Begin(pixels, size); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTeam, err)
	}
	return m.teamForward(b, m.team, pixels, size)
}

// TeamError is the error that made the model stop splitting its passes over its
// team (nil: none).
func (m *Model) TeamError() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.teamErr
}
