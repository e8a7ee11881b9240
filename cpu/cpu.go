package cpu

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ideal-fsad/ideal/kernels"
)

// Backend is the CPU backend. It holds no mutable state (scratch comes from pools),
// so its ops may be called from several goroutines at once on distinct outputs.
type Backend struct {
	threads int
	kern    *microKernel
	pool    sync.Pool // *scratch
}

// Option configures New.
type Option func(*Backend)

// WithThreads sets the number of worker goroutines (default runtime.GOMAXPROCS(0)).
func WithThreads(n int) Option {
	return func(b *Backend) {
		if n > 0 {
			b.threads = n
		}
	}
}

// WithPureGo forces the portable pure-Go micro-kernels even where SIMD ones exist
// (for tests and benchmarks of the fallback path).
func WithPureGo() Option { return func(b *Backend) { b.kern = &pureKernel } }

// New returns a CPU backend.
func New(opts ...Option) *Backend {
	b := &Backend{threads: runtime.GOMAXPROCS(0), kern: bestKernel()}
	for _, o := range opts {
		o(b)
	}
	b.pool.New = func() any { return new(scratch) }
	return b
}

// Name implements kernels.Backend: "cpu/" and the micro-kernel path.
func (b *Backend) Name() string { return "cpu/" + b.kern.name }

// Threads is the number of worker goroutines.
func (b *Backend) Threads() int { return b.threads }

// tensor is the CPU backend's tensor: host memory, a version bumped by every op
// that writes it, and the GEMM panels cached from it when it serves as a weight.
type tensor struct {
	shape []int
	data  []float32
	ver   uint64

	mu   sync.Mutex // guards the cache fields below
	seen uint64     // ver+1 at its last use as MatMul's b (0: none)
	pack *packedB
}

func (t *tensor) Shape() []int { return t.shape }

// raw returns the data of t (nil for nil); a tensor of another backend is a
// programming error.
func raw(t kernels.Tensor) []float32 {
	if t == nil {
		return nil
	}
	ct, ok := t.(*tensor)
	if !ok {
		panic(fmt.Sprintf("cpu: tensor of type %T does not belong to the CPU backend", t))
	}
	if ct.data == nil && ct.shape == nil {
		panic("cpu: use of a freed tensor")
	}
	return ct.data
}

// out returns the data of an op's output and marks the tensor as changed.
func out(t kernels.Tensor) []float32 {
	d := raw(t)
	t.(*tensor).ver++
	return d
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("cpu: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// Upload implements kernels.Backend.
func (b *Backend) Upload(d []float32, shape ...int) kernels.Tensor {
	if n := numel(shape); n != len(d) {
		panic(fmt.Sprintf("cpu: Upload of %d values into shape %v", len(d), shape))
	}
	return &tensor{shape: append([]int(nil), shape...), data: append(make([]float32, 0, len(d)), d...)}
}

// Zeros implements kernels.Backend.
func (b *Backend) Zeros(shape ...int) kernels.Tensor {
	return &tensor{shape: append([]int(nil), shape...), data: make([]float32, numel(shape))}
}

// Download implements kernels.Backend.
func (b *Backend) Download(t kernels.Tensor) ([]float32, error) {
	return append([]float32(nil), raw(t)...), nil
}

// Read implements kernels.HostIO.
func (b *Backend) Read(dst []float32, t kernels.Tensor) error {
	src := raw(t)
	kernels.Check(len(dst) == len(src), "Read", "destination of the wrong length")
	copy(dst, src)
	return nil
}

// Write implements kernels.HostIO.
func (b *Backend) Write(t kernels.Tensor, src []float32) {
	kernels.Check(len(src) == len(raw(t)), "Write", "source of the wrong length")
	copy(out(t), src)
}

// Free implements kernels.Backend.
func (b *Backend) Free(t kernels.Tensor) {
	if t == nil {
		return
	}
	raw(t)
	ct := t.(*tensor)
	ct.mu.Lock()
	ct.data, ct.shape, ct.pack = nil, nil, nil
	ct.mu.Unlock()
}

// Close implements kernels.Backend.
func (b *Backend) Close() error { return nil }

// parallel runs fn(i) for every i in [0, n), spread dynamically over the backend's
// threads; each worker gets its own scratch.
func (b *Backend) parallel(n int, fn func(i int, s *scratch)) {
	workers := min(b.threads, n)
	if workers <= 1 {
		s := b.pool.Get().(*scratch)
		for i := range n {
			fn(i, s)
		}
		b.pool.Put(s)
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	work := func() {
		s := b.pool.Get().(*scratch)
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				break
			}
			fn(i, s)
		}
		b.pool.Put(s)
	}
	wg.Add(workers - 1)
	for range workers - 1 {
		go func() { defer wg.Done(); work() }()
	}
	work()
	wg.Wait()
}

// scratch is per-worker temporary memory, reused across calls through a pool.
type scratch struct {
	a, c, tile, s, o []float32
	f64              []float64
}

// grow returns buf resized to n elements, reallocating only when it is too small.
func grow(buf *[]float32, n int) []float32 {
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

func grow64(buf *[]float64, n int) []float64 {
	if cap(*buf) < n {
		*buf = make([]float64, n)
	}
	*buf = (*buf)[:n]
	return *buf
}

// rowChunks splits m rows into units of about minWork elements for parallel.
func rowChunks(m, cols, minWork int) (units, per int) {
	per = max(1, minWork/max(1, cols))
	return (m + per - 1) / per, per
}

var (
	_ kernels.Backend = (*Backend)(nil)
	_ kernels.HostIO  = (*Backend)(nil)
)
