package engine

import (
	"fmt"

	"github.com/ideal-fsad/ideal/imaging"
)

// MaskFromRGBA turns a mask painted in the page (the RGBA bytes of a w×h canvas, as
// getImageData returns them) into a mask: a pixel is a defect when its alpha is not zero.
func MaskFromRGBA(w, h int, rgba []byte) (*imaging.Mask, error) {
	if w < 1 || h < 1 {
		return nil, fmt.Errorf("engine: painted mask of %d×%d pixels", w, h)
	}
	if len(rgba) != 4*w*h {
		return nil, fmt.Errorf("engine: painted mask of %d×%d pixels holds %d bytes, want %d (RGBA)", w, h, len(rgba), 4*w*h)
	}
	m := imaging.NewMask(w, h)
	for i := range m.Pix {
		m.Pix[i] = rgba[4*i+3] != 0
	}
	return m, nil
}

// DecodeMaskBits decodes a mask file's bytes (as imaging.DecodeMask does) into one byte
// per pixel, 1 = defect, so that the page can start its painting from it.
func DecodeMaskBits(data []byte) (w, h int, bits []byte, err error) {
	m, err := imaging.DecodeMask(data)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("engine: %w", err)
	}
	bits = make([]byte, len(m.Pix))
	for i, v := range m.Pix {
		if v {
			bits[i] = 1
		}
	}
	return m.W, m.H, bits, nil
}

// DecodeRGBA decodes an image's bytes as the engine sees them (imaging.DecodeRGB) into
// opaque RGBA, for the page to draw under the mask it paints.
func DecodeRGBA(data []byte) (w, h int, rgba []byte, err error) {
	img, err := imaging.DecodeRGB(data)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("engine: %w", err)
	}
	rgba = make([]byte, 4*img.W*img.H)
	for i := range img.W * img.H {
		copy(rgba[4*i:4*i+3], img.Pix[3*i:3*i+3])
		rgba[4*i+3] = 255
	}
	return img.W, img.H, rgba, nil
}
