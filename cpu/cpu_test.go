package cpu

import (
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kerneltest"
)

func TestParity(t *testing.T) { kerneltest.RunAll(t, func() kernels.Backend { return New() }) }

// The pure-Go micro-kernels (the wasm and non-amd64 path) on an odd thread count.
func TestParityPureGo(t *testing.T) {
	kerneltest.RunAll(t, func() kernels.Backend { return New(WithPureGo(), WithThreads(3)) })
}
