package cpu

import (
	"testing"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kerneltest"
)

func TestParity(t *testing.T) { kerneltest.RunAll(t, func() kernels.Backend { return New() }) }
