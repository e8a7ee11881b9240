package imaging

import (
	"slices"
	"testing"
)

func TestContour(t *testing.T) {
	// A 3×3 square in a 5×5 mask: its 8 border pixels, not its centre.
	m := make([]bool, 25)
	for y := 1; y <= 3; y++ {
		for x := 1; x <= 3; x++ {
			m[y*5+x] = true
		}
	}
	c := Contour(m, 5, 5, 1)
	for i, on := range c {
		want := m[i] && i != 12
		if on != want {
			t.Errorf("pixel (%d, %d): contour %v, want %v", i%5, i/5, on, want)
		}
	}
	if c := Contour(m, 5, 5, 2); !c[12] {
		t.Error("a contour 2 wide leaves out the square's centre")
	}
}

func TestResizeMapNearest(t *testing.T) {
	got := ResizeMapNearest([]float32{1, 2, 3, 4}, 2, 2, 4, 4)
	want := []float32{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}
	if !slices.Equal(got, want) {
		t.Errorf("ResizeMapNearest = %v, want %v", got, want)
	}
}
