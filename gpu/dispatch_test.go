package gpu

import (
	"errors"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		groups, limit [3]int
		want          []Dispatch
	}{
		{[3]int{1, 1, 1}, [3]int{65535, 65535, 65535}, []Dispatch{{[3]int{0, 0, 0}, [3]int{1, 1, 1}}}},
		{[3]int{0, 5, 1}, [3]int{4, 4, 4}, nil},
		{[3]int{4, 1, 1}, [3]int{4, 4, 4}, []Dispatch{{[3]int{0, 0, 0}, [3]int{4, 1, 1}}}},
		{[3]int{5, 1, 1}, [3]int{4, 4, 4}, []Dispatch{{[3]int{0, 0, 0}, [3]int{4, 1, 1}}, {[3]int{4, 0, 0}, [3]int{1, 1, 1}}}},
		{[3]int{3, 5, 2}, [3]int{2, 3, 1}, []Dispatch{
			{[3]int{0, 0, 0}, [3]int{2, 3, 1}}, {[3]int{2, 0, 0}, [3]int{1, 3, 1}},
			{[3]int{0, 3, 0}, [3]int{2, 2, 1}}, {[3]int{2, 3, 0}, [3]int{1, 2, 1}},
			{[3]int{0, 0, 1}, [3]int{2, 3, 1}}, {[3]int{2, 0, 1}, [3]int{1, 3, 1}},
			{[3]int{0, 3, 1}, [3]int{2, 2, 1}}, {[3]int{2, 3, 1}, [3]int{1, 2, 1}},
		}},
	} {
		got := Split(c.groups, c.limit)
		if len(got) != len(c.want) {
			t.Errorf("Split(%v, %v) = %v, want %v", c.groups, c.limit, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("Split(%v, %v)[%d] = %v, want %v", c.groups, c.limit, i, got[i], c.want[i])
			}
		}
	}
}

// TestSplitCovers checks on many grids that the dispatches respect the limit and
// cover every work group exactly once.
func TestSplitCovers(t *testing.T) {
	for gx := 1; gx <= 9; gx += 2 {
		for gy := 1; gy <= 7; gy += 3 {
			for _, lim := range [][3]int{{1, 1, 1}, {2, 3, 4}, {4, 2, 65535}, {65535, 65535, 65535}} {
				groups := [3]int{gx, gy, 2}
				seen := map[[3]int]int{}
				for _, d := range Split(groups, lim) {
					for a := range 3 {
						if d.Count[a] < 1 || d.Count[a] > lim[a] {
							t.Fatalf("Split(%v, %v): dispatch %v breaks the limit", groups, lim, d)
						}
					}
					for z := range d.Count[2] {
						for y := range d.Count[1] {
							for x := range d.Count[0] {
								seen[[3]int{d.Offset[0] + x, d.Offset[1] + y, d.Offset[2] + z}]++
							}
						}
					}
				}
				for z := range groups[2] {
					for y := range groups[1] {
						for x := range groups[0] {
							if n := seen[[3]int{x, y, z}]; n != 1 {
								t.Fatalf("Split(%v, %v): group (%d %d %d) covered %d times", groups, lim, x, y, z, n)
							}
						}
					}
				}
				if len(seen) != gx*gy*2 {
					t.Fatalf("Split(%v, %v): %d groups covered, want %d", groups, lim, len(seen), gx*gy*2)
				}
			}
		}
	}
}

func TestSplitPanicsOnBadLimit(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Split with a zero limit did not panic")
		}
	}()
	Split([3]int{1, 1, 1}, [3]int{0, 1, 1})
}

// Without a display (and in builds without cgo) New fails with ErrUnavailable and a
// reason, never a panic.
func TestNewWithoutDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	b, err := New()
	if err == nil {
		b.Close()
		t.Skip("a backend opened without DISPLAY (Windows?)")
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("New() error %v does not wrap ErrUnavailable", err)
	}
	if err.Error() == ErrUnavailable.Error() {
		t.Errorf("New() error %q gives no reason", err)
	}
	t.Log(err)
}
