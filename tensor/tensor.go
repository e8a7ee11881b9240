// Package tensor holds the host-side dense float32 tensor that flows between file
// formats (safetensors, PyTorch checkpoints), the model and the command line.
// Backend-resident tensors are a separate type (kernels.Tensor); this one is plain memory.
package tensor

import (
	"fmt"
	"math"
)

// Dense is a row-major float32 tensor in host memory.
type Dense struct {
	Shape []int
	Data  []float32
}

// New returns a zeroed tensor of the given shape.
func New(shape ...int) *Dense {
	return &Dense{Shape: append([]int(nil), shape...), Data: make([]float32, Numel(shape))}
}

// FromData wraps data (not copied) with a shape; it panics if the sizes disagree,
// which is a programming error.
func FromData(data []float32, shape ...int) *Dense {
	if Numel(shape) != len(data) {
		panic(fmt.Sprintf("tensor: %d values do not fill shape %v", len(data), shape))
	}
	return &Dense{Shape: append([]int(nil), shape...), Data: data}
}

// Numel is the number of elements of a shape (1 for a scalar shape).
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Len is the number of elements.
func (t *Dense) Len() int { return len(t.Data) }

// Rows is the size of the first axis (1 for a scalar).
func (t *Dense) Rows() int {
	if len(t.Shape) == 0 {
		return 1
	}
	return t.Shape[0]
}

// Cols is the product of all axes but the first.
func (t *Dense) Cols() int {
	if len(t.Shape) == 0 {
		return 1
	}
	return Numel(t.Shape[1:])
}

// Row returns row i (a view).
func (t *Dense) Row(i int) []float32 {
	c := t.Cols()
	return t.Data[i*c : (i+1)*c]
}

// SameShape reports whether two shapes are equal.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Clone returns a deep copy.
func (t *Dense) Clone() *Dense {
	return &Dense{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// NonFinite returns the index of the first NaN or ±Inf in v, or -1 when every value is
// finite.
func NonFinite(v []float32) int {
	for i, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return i
		}
	}
	return -1
}
