package gpu_test

import (
	"fmt"
	"os"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/gpu"
	"github.com/ideal-fsad/ideal/kernels"
)

// Open the GPU backend, falling back to the CPU (and saying so) when no OpenGL 4.3
// context can be had.
func ExampleNew() {
	var be kernels.Backend
	be, err := gpu.New()
	if err != nil {
		fmt.Fprintln(os.Stderr, "using the CPU backend:", err)
		be = cpu.New()
	}
	defer be.Close()

	x := be.Upload([]float32{-1, 0, 1, 2}, 2, 2)
	be.AddScaled(x, x, x, 0.5) // x ← x + 0.5·x
	y, err := be.Download(x)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Printf("%s: %.1f\n", be.Name(), y)
}
