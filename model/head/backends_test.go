package head

import (
	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/kernels"
)

// extraBackends are the fast backends checked against the fixture besides the reference.
func extraBackends() []kernels.Backend { return []kernels.Backend{cpu.New()} }
