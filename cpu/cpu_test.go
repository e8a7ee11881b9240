package cpu

import (
	"fmt"
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kerneltest"
)

// The best path of this build and CPU (Name says which).
func TestParity(t *testing.T) {
	t.Log(New().Name())
	kerneltest.RunAll(t, func() kernels.Backend { return New() })
}

// The AVX2+FMA path where the default is AVX-512 (else the default again); the
// large cases ran on the default path.
func TestParityAVX2(t *testing.T) {
	kerneltest.RunAll(t, func() kernels.Backend { return New(WithAVX2(), WithThreads(2)) }, kerneltest.SmallOnly())
}

// The pure-Go micro-kernels (the wasm and non-amd64 path) on an odd thread count.
// With -tags noasm (or off amd64) TestParity runs this path on the large cases too.
func TestParityPureGo(t *testing.T) {
	kerneltest.RunAll(t, func() kernels.Backend { return New(WithPureGo(), WithThreads(3)) }, kerneltest.SmallOnly())
}

// Ops of one backend called from several goroutines at once give the serial results.
func TestConcurrentUse(t *testing.T) {
	be := New(WithThreads(2))
	x := make([]float32, 130*64)
	for i := range x {
		x[i] = float32(i%17) * 0.1
	}
	a := be.Upload(x, 130, 64)
	want := be.Zeros(130, 130)
	be.MatMul(want, a, a, true, kernels.Epilogue{GELU: true})
	wantAtt := be.Zeros(130, 64)
	be.Attention(wantAtt, a, a, a, nil, 4, 0.125)
	w, _ := be.Download(want)
	wa, _ := be.Download(wantAtt)
	done := make(chan string)
	for range 4 {
		go func() {
			got, gotAtt := be.Zeros(130, 130), be.Zeros(130, 64)
			for range 5 {
				be.MatMul(got, a, a, true, kernels.Epilogue{GELU: true})
				be.Attention(gotAtt, a, a, a, nil, 4, 0.125)
			}
			g, _ := be.Download(got)
			ga, _ := be.Download(gotAtt)
			if n, _ := kerneltest.Compare(g, w); n != 0 {
				done <- "MatMul differs"
				return
			}
			if n, _ := kerneltest.Compare(ga, wa); n != 0 {
				done <- "Attention differs"
				return
			}
			done <- ""
		}()
	}
	for range 4 {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}

// The packed-weight cache follows every change of the weight and of the product's
// layout: results always match the reference.
func TestPackedWeightCache(t *testing.T) {
	be, ref := New(), kernels.NewReference()
	const m, k = 100, 64
	mk := func(seed int) []float32 {
		d := make([]float32, m*k)
		for i := range d {
			d[i] = float32((i*seed)%23)*0.05 - 0.5
		}
		return d
	}
	a, w, other := mk(3), mk(7)[:k*k], mk(11)[:k*k]
	ga, gw, gother := be.Upload(a, m, k), be.Upload(w, k, k), be.Upload(other, k, k)
	ra, rw, rother := ref.Upload(a, m, k), ref.Upload(w, k, k), ref.Upload(other, k, k)
	gd, rd := be.Zeros(m, k), ref.Zeros(m, k)
	check := func(step string, transB bool) {
		t.Helper()
		be.MatMul(gd, ga, gw, transB, kernels.Epilogue{})
		ref.MatMul(rd, ra, rw, transB, kernels.Epilogue{})
		g, _ := be.Download(gd)
		r, _ := ref.Download(rd)
		if n, _ := kerneltest.Compare(g, r); n > kerneltest.Tol {
			t.Errorf("%s: normalised MSE %g", step, n)
		}
	}
	for i := range 3 {
		check(fmt.Sprint("use ", i), true)
	}
	check("other layout", false)
	check("back", true)
	be.AddScaled(gw, gw, gother, 0.5)
	ref.AddScaled(rw, rw, rother, 0.5)
	check("after AddScaled", true)
	check("after AddScaled again", true)
	be.CopyRows(gw, 3, gother, 0, 2)
	ref.CopyRows(rw, 3, rother, 0, 2)
	check("after CopyRows", true)
	check("after CopyRows again", true)
	be.MatMul(gw, gother, gother, true, kernels.Epilogue{})
	ref.MatMul(rw, rother, rother, true, kernels.Epilogue{})
	check("after MatMul into it", true)
	check("after MatMul into it again", true)
	if gw.(*tensor).pack == nil {
		t.Error("a weight used twice unchanged is not cached")
	}
}

// HostIO: Write replaces a tensor's contents (and drops the GEMM panels cached from
// it), Read copies them out; lengths must match.
func TestHostIO(t *testing.T) {
	be := New(WithThreads(1))
	a := be.Upload(make([]float32, 16*8), 16, 8)
	w := be.Upload(make([]float32, 8*8), 8, 8)
	dst := be.Zeros(16, 8)
	for range 3 { // cache w's panels
		be.MatMul(dst, a, w, true, kernels.Epilogue{})
	}
	ones := make([]float32, 16*8)
	for i := range ones {
		ones[i] = 1
	}
	be.Write(a, ones)
	be.Write(w, ones[:64])
	be.MatMul(dst, a, w, true, kernels.Epilogue{})
	got := make([]float32, 16*8)
	if err := be.Read(got, dst); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != 8 {
			t.Fatalf("element %d = %v after Write, want 8 (stale cached panels?)", i, v)
		}
	}
	for _, f := range []func(){func() { be.Write(a, ones[:3]) }, func() { be.Read(got[:3], a) }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("a length mismatch did not panic")
				}
			}()
			f()
		}()
	}
}
