package gpu

import (
	"errors"
	"fmt"

	"github.com/ideal-fsad/ideal/kernels"
)

// ErrUnavailable is wrapped by the error New returns when no OpenGL 4.3 context can
// be had; the wrapping error says why.
var ErrUnavailable = errors.New("gpu: OpenGL 4.3 compute unavailable")

// Dispatch is one glDispatchCompute of a logical grid: Count work groups starting at
// work group Offset of the grid (passed to the shader as u_groupOffset).
type Dispatch struct {
	Offset, Count [3]int
}

// Split covers a logical grid of groups work groups with dispatches of at most limit
// work groups per axis (GL_MAX_COMPUTE_WORK_GROUP_COUNT), in row-major order of their
// offsets (x fastest). An empty grid (a zero axis) needs no dispatch. A negative
// groups or a limit below 1 is a programming error and panics.
func Split(groups, limit [3]int) []Dispatch {
	var chunks [3][][2]int // per axis: (offset, count) pairs
	for a := range 3 {
		if groups[a] < 0 || limit[a] < 1 {
			panic(fmt.Sprintf("gpu: Split of grid %v with limit %v", groups, limit))
		}
		if groups[a] == 0 {
			return nil
		}
		for o := 0; o < groups[a]; o += limit[a] {
			chunks[a] = append(chunks[a], [2]int{o, min(limit[a], groups[a]-o)})
		}
	}
	out := make([]Dispatch, 0, len(chunks[0])*len(chunks[1])*len(chunks[2]))
	for _, z := range chunks[2] {
		for _, y := range chunks[1] {
			for _, x := range chunks[0] {
				out = append(out, Dispatch{Offset: [3]int{x[0], y[0], z[0]}, Count: [3]int{x[1], y[1], z[1]}})
			}
		}
	}
	return out
}

// The backend registers itself as "gpu" for ideal.OpenBackend: a program that imports
// this package can open it by name (in builds without cgo, New says why it cannot).
func init() { kernels.Register("gpu", New) }
