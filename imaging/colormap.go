package imaging

//go:generate /usr/bin/python3 testdata/gen_colormaps.py
//go:generate gofmt -w colormap_tables.go

import (
	"fmt"
	"math"
	"strings"
)

// Colormap turns a value in [0, 1] into a colour, as matplotlib's colour map of the
// same name does with 256 entries: index ⌊v·256⌋ (1.0 → the last entry), values
// below 0 or above 1 clamp to the ends, NaN is black.
type Colormap struct {
	name string
	lut  *[256][3]uint8
}

// ColormapNames lists the colour maps LookupColormap knows.
var ColormapNames = []string{"inferno", "jet", "grey"}

// LookupColormap returns the colour map of that name ("gray" is accepted for "grey").
func LookupColormap(name string) (Colormap, error) {
	switch strings.ToLower(name) {
	case "inferno":
		return Colormap{"inferno", &infernoLUT}, nil
	case "jet":
		return Colormap{"jet", &jetLUT}, nil
	case "grey", "gray":
		return Colormap{"grey", &greyLUT}, nil
	}
	return Colormap{}, fmt.Errorf("imaging: unknown colour map %q (want one of %s)", name, strings.Join(ColormapNames, ", "))
}

// Name is the colour map's name.
func (c Colormap) Name() string { return c.name }

// At returns the colour of v.
func (c Colormap) At(v float32) [3]uint8 {
	if c.lut == nil {
		panic("imaging: zero Colormap; use LookupColormap")
	}
	switch {
	case v != v:
		return [3]uint8{}
	case v <= 0:
		return c.lut[0]
	case v >= 1:
		return c.lut[255]
	}
	return c.lut[min(int(v*256), 255)]
}

// Colorize paints a w×h map (row-major, values in [0, 1]) with the colour map.
func (c Colormap) Colorize(m []float32, w, h int) *RGB {
	if len(m) != w*h {
		panic(fmt.Sprintf("imaging: Colorize of %d values as %d×%d", len(m), w, h))
	}
	out := NewRGB(w, h)
	for i, v := range m {
		col := c.At(v)
		copy(out.Pix[3*i:3*i+3], col[:])
	}
	return out
}

// Overlay blends a colour-mapped map over an image of the same size:
// out = (1 − opacity)·image + opacity·colour, rounded to the nearest level. The map
// is W×H row-major with values in [0, 1] (up-sample a patch-grid map to the image
// size first, see HeatmapOverlay). Opacity is clamped to [0, 1].
func Overlay(img *RGB, m []float32, c Colormap, opacity float64) *RGB {
	if len(m) != img.W*img.H {
		panic(fmt.Sprintf("imaging: Overlay of a %d-value map on a %d×%d image", len(m), img.W, img.H))
	}
	a := min(max(opacity, 0), 1)
	out := NewRGB(img.W, img.H)
	for i, v := range m {
		col := c.At(v)
		for ch := range 3 {
			x := float64((1-a)*float64(img.Pix[3*i+ch])) + float64(a*float64(col[ch])) // no FMA: same bytes on every platform
			out.Pix[3*i+ch] = uint8(math.Round(x))
		}
	}
	return out
}

// HeatmapOverlay up-samples a gh×gw patch-grid map to the image's size
// (UpsampleBilinear) and overlays it (Overlay): the picture written for a query.
func HeatmapOverlay(img *RGB, grid []float32, gh, gw int, c Colormap, opacity float64) *RGB {
	return Overlay(img, UpsampleBilinear(grid, gh, gw, img.H, img.W), c, opacity)
}
