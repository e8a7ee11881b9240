package serve

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

// square is a side×side map of 0 with 1 on the pixels x0 ≤ x < x1, y0 ≤ y < y1.
func square(m []float32, side, x0, y0, x1, y1 int) {
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			m[y*side+x] = 1
		}
	}
}

func TestContourSquare(t *testing.T) {
	m := make([]float32, 100)
	square(m, 10, 2, 3, 6, 7)
	got := mapContour(m, 10, 0.5, 10, 10)
	want := [][][2]float64{{{2, 3}, {6, 3}, {6, 7}, {2, 7}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// At an image of 40×20 pixels the corners scale by 4 and 2.
	got = mapContour(m, 10, 0.5, 40, 20)
	want = [][][2]float64{{{8, 6}, {24, 6}, {24, 14}, {8, 14}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("scaled: got %v, want %v", got, want)
	}
	if got := mapContour(m, 10, 2, 10, 10); len(got) != 0 {
		t.Fatalf("above the map: %v", got)
	}
}

func TestContourHoleAndDiagonal(t *testing.T) {
	m := make([]float32, 64)
	square(m, 8, 1, 1, 6, 6)
	m[3*8+3] = 0 // a hole of one pixel
	got := mapContour(m, 8, 0.5, 8, 8)
	want := [][][2]float64{{{1, 1}, {6, 1}, {6, 6}, {1, 6}}, {{3, 4}, {4, 4}, {4, 3}, {3, 3}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("hole: got %v, want %v", got, want)
	}
	// Two pixels touching at a corner are two regions.
	m = make([]float32, 16)
	m[0], m[5] = 1, 1
	got = mapContour(m, 4, 0.5, 4, 4)
	want = [][][2]float64{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}, {{1, 1}, {2, 1}, {2, 2}, {1, 2}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("diagonal: got %v, want %v", got, want)
	}
}

// TestServeScoreContour asks /v1 for the contour: polygons within the image, present
// (maybe empty) for every result.
func TestServeScoreContour(t *testing.T) {
	f := getFixture(t)
	_, base := start(t, Config{})
	putProfile(t, base, "p", `{"backbone":"backbone.safetensors","head":"head.safetensors","size":112,"threshold":0}`)
	code, b := do(t, "POST", base+"/v1/profiles/p/score?map=contour", "image/png", f.abnormal)
	var resp struct {
		Results []struct {
			Contour *contourJS `json:"contour"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &resp); code != 200 || err != nil || len(resp.Results) != 1 || resp.Results[0].Contour == nil {
		t.Fatalf("%d %s", code, b)
	}
	c := resp.Results[0].Contour
	// Threshold 0: every pixel of A ≥ 0 (A is non-negative), so the region is the image.
	want := [][][2]float64{{{0, 0}, {float64(c.Width), 0}, {float64(c.Width), float64(c.Height)}, {0, float64(c.Height)}}}
	if c.Width != size || !reflect.DeepEqual(c.Polygons, want) {
		t.Fatalf("contour %+v", c)
	}
}
