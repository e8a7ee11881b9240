package dinov2

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/tensor"
)

// memTeam is a Team of goroutines, each member with its own copy of the model: the
// same exchanges the browser's workers make through a SharedArrayBuffer.
type memTeam struct {
	rank int
	*memShared
}

type memShared struct {
	n       int
	start   []chan []float32 // rank r ≥ 1 receives the pixels of each pass
	mu      sync.Mutex
	cond    *sync.Cond
	gen     int // barrier generation
	count   int
	bufs    [2][]float32 // alternating gather buffers
	gather  []int        // per member: gathers made
	fail    int          // rank 1's AllGather fails at this gather (0: none)
	aborted bool         // a member failed: the barrier lets everyone out with an error
}

func newMemTeam(n int) []*memTeam {
	s := &memShared{n: n, start: make([]chan []float32, n), gather: make([]int, n)}
	s.cond = sync.NewCond(&s.mu)
	ts := make([]*memTeam, n)
	for r := range ts {
		s.start[r] = make(chan []float32, 1)
		ts[r] = &memTeam{rank: r, memShared: s}
	}
	return ts
}

func (t *memTeam) Members() int { return t.n }
func (t *memTeam) Rank() int    { return t.rank }

func (t *memTeam) Begin(pixels []float32, size int) error {
	for r := 1; r < t.n; r++ {
		t.start[r] <- pixels
	}
	return nil
}

func (t *memTeam) barrier() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.gen
	if t.count++; t.count == t.n {
		t.count, t.gen = 0, t.gen+1
		t.cond.Broadcast()
		return nil
	}
	for t.gen == g && !t.aborted {
		t.cond.Wait()
	}
	if t.aborted {
		return errors.New("a member failed")
	}
	return nil
}

func (t *memTeam) AllGather(local []float32, off int, all []float32) error {
	i := t.gather[t.rank]
	t.gather[t.rank]++
	if t.rank == 1 && i+1 == t.fail {
		t.mu.Lock()
		t.aborted = true
		t.cond.Broadcast()
		t.mu.Unlock()
		return errors.New("planted failure")
	}
	t.mu.Lock()
	buf := &t.bufs[i%2]
	if len(*buf) < len(all) {
		*buf = append(*buf, make([]float32, len(all)-len(*buf))...)
	}
	b := *buf
	t.mu.Unlock()
	copy(b[off:], local)
	if err := t.barrier(); err != nil {
		return err
	}
	copy(all, b[:len(all)])
	return nil
}

// A member failing mid-pass does not hang rank 0 nor lose its pass: it runs alone
// and says why (TeamError); later passes run alone too.
func TestTeamFailure(t *testing.T) {
	f := randomHF(7, 48, 2, 5, 14, 0)
	models := make([]*Model, 2)
	for r := range models {
		m, err := FromFile(f, Options{Heads: 4})
		if err != nil {
			t.Fatal(err)
		}
		models[r] = m
	}
	team := newMemTeam(2)
	team[0].fail = 3
	px := make([]float32, 3*98*98)
	want, err := models[1].Features(cpu.New(), px, 98)
	if err != nil {
		t.Fatal(err)
	}
	got, errs := runTeam(t, models, team, cpu.New(), px, 98)
	if errs[0] != nil || errs[1] == nil || !errors.Is(models[0].TeamError(), ErrTeam) {
		t.Fatalf("errors %v, TeamError %v: want none on rank 0, the planted one on rank 1, ErrTeam", errs, models[0].TeamError())
	}
	for i := range want.Data {
		if got.Data[i] != want.Data[i] {
			t.Fatalf("feature %d after the failure: %v, want %v", i, got.Data[i], want.Data[i])
		}
	}
	if _, err := models[0].Features(cpu.New(), px, 98); err != nil { // alone: no member to wait for
		t.Fatal(err)
	}
}

// A pass split over 1, 2 and 3 members (with and without registers, odd token counts)
// gives rank 0 the features of the pass on one copy, bit for bit: every op is per
// token but Attention, which reads the gathered K and V.
func TestTeamForwardEqualsSolo(t *testing.T) {
	for _, tc := range []struct{ c, depth, grid, registers, size, members int }{
		{48, 2, 5, 0, 98, 2}, {48, 2, 5, 4, 98, 3}, {64, 3, 4, 0, 70, 2}, {48, 1, 5, 0, 14, 3},
	} {
		t.Run(fmt.Sprintf("C%d-reg%d-S%d-n%d", tc.c, tc.registers, tc.size, tc.members), func(t *testing.T) {
			f := randomHF(7, tc.c, tc.depth, tc.grid, 14, tc.registers)
			models := make([]*Model, tc.members)
			for r := range models {
				m, err := FromFile(f, Options{Heads: 4})
				if err != nil {
					t.Fatal(err)
				}
				models[r] = m
			}
			px := make([]float32, 3*tc.size*tc.size)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range px {
				px[i] = float32(rng.NormFloat64())
			}
			be := cpu.New(cpu.WithThreads(1))
			want, err := models[0].Features(be, px, tc.size)
			if err != nil {
				t.Fatal(err)
			}
			var progress []int
			models[0].SetProgress(func(done, total int) { progress = append(progress, done*100+total) })
			team := newMemTeam(tc.members)
			got, errs := runTeam(t, models, team, be, px, tc.size)
			for r, err := range errs {
				if err != nil {
					t.Fatalf("rank %d: %v", r, err)
				}
			}
			for i := range want.Data {
				if got.Data[i] != want.Data[i] {
					t.Fatalf("feature %d: team %v, solo %v", i, got.Data[i], want.Data[i])
				}
			}
			if len(progress) != tc.depth || progress[tc.depth-1] != tc.depth*101 {
				t.Errorf("progress calls %v, want one per block of %d", progress, tc.depth)
			}
		})
	}
}

// runTeam runs one pass on rank 0 through its team, the other members following.
func runTeam(t *testing.T, models []*Model, team []*memTeam, be kernels.Backend, px []float32, size int) (*tensor.Dense, []error) {
	t.Helper()
	errs := make([]error, len(models))
	var wg sync.WaitGroup
	for r := 1; r < len(models); r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[r] = models[r].FollowPass(cpu.New(cpu.WithThreads(1)), team[r], <-team[r].start[r], size)
		}()
	}
	models[0].SetTeam(team[0])
	got, err := models[0].Features(be, px, size)
	errs[0] = err
	wg.Wait()
	return got, errs
}
