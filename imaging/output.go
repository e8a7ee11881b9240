package imaging

import (
	"fmt"
	"image"
	"image/png"
	"io"
	"math"

	"github.com/ideal-fsad/ideal/internal/atomicfile"
)

// WritePNG writes any image as PNG, atomically (nothing is left under path on error).
func WritePNG(path string, img image.Image) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
		return fmt.Errorf("imaging: %w", err)
	}
	return nil
}

// MapToGray16 quantises a w×h map with values in [0, 1] to 16-bit grey:
// round(clamp(v, 0, 1)·65535). A NaN is an error naming its position.
func MapToGray16(m []float32, w, h int) (*image.Gray16, error) {
	if w <= 0 || h <= 0 || len(m) != w*h {
		return nil, fmt.Errorf("imaging: map of %d values is not %d×%d", len(m), w, h)
	}
	g := image.NewGray16(image.Rect(0, 0, w, h))
	for i, v := range m {
		if v != v {
			return nil, fmt.Errorf("imaging: map value at (%d, %d) is NaN", i%w, i/w)
		}
		q := uint16(math.Round(float64(min(max(v, 0), 1)) * 65535))
		g.Pix[2*i], g.Pix[2*i+1] = uint8(q>>8), uint8(q)
	}
	return g, nil
}

// WriteMapPNG writes a w×h map with values in [0, 1] as a 16-bit grey PNG
// (MapToGray16), atomically. ReadMapPNG reads it back within 1/131070.
func WriteMapPNG(path string, m []float32, w, h int) error {
	g, err := MapToGray16(m, w, h)
	if err != nil {
		return err
	}
	return WritePNG(path, g)
}

// ReadMapPNG reads a 16-bit (or 8-bit) grey PNG map as values in [0, 1].
func ReadMapPNG(path string) (m []float32, w, h int, err error) {
	data, err := readFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	img, err := decodeImage(data)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("imaging: map %s: %w", path, err)
	}
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	m = make([]float32, w*h)
	switch g := img.(type) {
	case *image.Gray16:
		for y := range h {
			for x := range w {
				m[y*w+x] = float32(g.Gray16At(b.Min.X+x, b.Min.Y+y).Y) / 65535
			}
		}
	case *image.Gray:
		for y := range h {
			for x := range w {
				m[y*w+x] = float32(g.GrayAt(b.Min.X+x, b.Min.Y+y).Y) / 255
			}
		}
	default:
		return nil, 0, 0, fmt.Errorf("imaging: map %s is a %T image, want 8- or 16-bit grey", path, img)
	}
	return m, w, h, nil
}
