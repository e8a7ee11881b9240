package cpu

import (
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kerneltest"
)

// The best path of this build and CPU (Name says which).
func TestParity(t *testing.T) {
	t.Log(New().Name())
	kerneltest.RunAll(t, func() kernels.Backend { return New() })
}

// The AVX2+FMA path where the default is AVX-512 (else the default again).
func TestParityAVX2(t *testing.T) {
	kerneltest.RunAll(t, func() kernels.Backend { return New(WithAVX2(), WithThreads(2)) })
}

// The pure-Go micro-kernels (the wasm and non-amd64 path) on an odd thread count.
func TestParityPureGo(t *testing.T) {
	kerneltest.RunAll(t, func() kernels.Backend { return New(WithPureGo(), WithThreads(3)) })
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
