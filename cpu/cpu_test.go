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
