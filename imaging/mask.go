package imaging

import (
	"fmt"
	"image"
	"math"
)

// Mask is a binary defect mask: W×H, row-major, true = defect.
type Mask struct {
	W, H int
	Pix  []bool
}

// NewMask returns an all-clear w×h mask.
func NewMask(w, h int) *Mask {
	if w < 0 || h < 0 {
		panic(fmt.Sprintf("imaging: negative mask size %d×%d", w, h))
	}
	return &Mask{W: w, H: h, Pix: make([]bool, w*h)}
}

// ReadMask reads a mask image file. The image is converted to 8-bit grey as PIL's
// convert("L") does and every non-zero pixel is a defect, so masks stored with any
// non-zero value (1, 255, class labels) are binarised the same way. Alpha is ignored.
func ReadMask(path string) (*Mask, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	img, err := decodeImage(data)
	if err != nil {
		return nil, fmt.Errorf("imaging: mask %s: %w", path, err)
	}
	return MaskFromImage(img), nil
}

// DecodeMask decodes a mask held in memory, as ReadMask does for a file.
func DecodeMask(data []byte) (*Mask, error) {
	img, err := decodeImage(data)
	if err != nil {
		return nil, fmt.Errorf("imaging: mask: %w", err)
	}
	return MaskFromImage(img), nil
}

// MaskFromImage binarises a decoded image: a pixel is a defect when its 8-bit grey
// value (PIL's convert("L")) is not zero.
func MaskFromImage(img image.Image) *Mask {
	b := img.Bounds()
	m := NewMask(b.Dx(), b.Dy())
	switch src := img.(type) {
	case *image.Gray:
		for y := range m.H {
			row := src.Pix[y*src.Stride:]
			for x := range m.W {
				m.Pix[y*m.W+x] = row[x] != 0
			}
		}
		return m
	case *image.Gray16:
		for y := range m.H {
			row := src.Pix[y*src.Stride:]
			for x := range m.W {
				m.Pix[y*m.W+x] = row[2*x] != 0 || row[2*x+1] != 0
			}
		}
		return m
	}
	rgb := FromImage(img)
	for i := range m.Pix {
		p := rgb.Pix[3*i:]
		m.Pix[i] = luma(p[0], p[1], p[2]) != 0
	}
	return m
}

// luma is PIL's RGB → L conversion: ITU-R 601-2 weights in 16-bit fixed point, rounded.
func luma(r, g, b uint8) uint8 {
	return uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16)
}

// CheckMaskSize returns an error when a mask's size differs from its image's.
func CheckMaskSize(imageW, imageH, maskW, maskH int) error {
	if imageW != maskW || imageH != maskH {
		return fmt.Errorf("imaging: mask is %d×%d but its image is %d×%d", maskW, maskH, imageW, imageH)
	}
	return nil
}

// Count is the number of defect pixels.
func (m *Mask) Count() int {
	n := 0
	for _, v := range m.Pix {
		if v {
			n++
		}
	}
	return n
}

// Empty reports whether the mask has no defect pixel.
func (m *Mask) Empty() bool {
	for _, v := range m.Pix {
		if v {
			return false
		}
	}
	return true
}

// nearestIndex is PyTorch's nearest-neighbour source index (upsample_nearest, no
// explicit scale factor): identity for equal sizes, dst/2 for exact doubling, else
// min(⌊dst · (in/out)⌋, in−1) with the scale and product in float32.
func nearestIndex(dst, in, out int) int {
	switch {
	case in == out:
		return dst
	case out == 2*in:
		return dst >> 1
	}
	scale := float32(in) / float32(out)
	return min(int(math.Floor(float64(float32(float32(dst)*scale)))), in-1)
}

// ResizeNearest resamples the mask to w×h with PyTorch's nearest convention
// (F.interpolate(mode="nearest")): output pixel (x, y) copies input pixel
// (⌊x·W/w⌋, ⌊y·H/h⌋), not PIL's centre rounding.
func (m *Mask) ResizeNearest(w, h int) *Mask {
	if w <= 0 || h <= 0 {
		panic(fmt.Sprintf("imaging: ResizeNearest to %d×%d", w, h))
	}
	out := NewMask(w, h)
	xs := make([]int, w)
	for x := range xs {
		xs[x] = nearestIndex(x, m.W, w)
	}
	for y := range h {
		row := m.Pix[nearestIndex(y, m.H, h)*m.W:]
		dst := out.Pix[y*w : (y+1)*w]
		for x, sx := range xs {
			dst[x] = row[sx]
		}
	}
	return out
}

// PatchMask maps a mask onto the patch grid (spec §2): with G = H/patch rows and
// W/patch columns, patch (i, j) is a defect when any pixel of rows patch·i−1 …
// patch·i+patch−2 and of the same column range (clipped to the mask) is a defect —
// the window of a patch×patch all-ones convolution with stride patch and padding 1.
// The result is row-major. The mask's sides must be multiples of patch (a programmer
// error otherwise: the caller resized it to S×S).
func PatchMask(m *Mask, patch int) []bool {
	if patch <= 0 || m.W%patch != 0 || m.H%patch != 0 {
		panic(fmt.Sprintf("imaging: PatchMask of a %d×%d mask with patch %d", m.W, m.H, patch))
	}
	gh, gw := m.H/patch, m.W/patch
	out := make([]bool, gh*gw)
	for i := range gh {
		y0, y1 := max(patch*i-1, 0), min(patch*i+patch-1, m.H)
		for j := range gw {
			x0, x1 := max(patch*j-1, 0), min(patch*j+patch-1, m.W)
		search:
			for y := y0; y < y1; y++ {
				for _, v := range m.Pix[y*m.W+x0 : y*m.W+x1] {
					if v {
						out[i*gw+j] = true
						break search
					}
				}
			}
		}
	}
	return out
}

// Image returns the mask as an 8-bit grey image (defect = 255).
func (m *Mask) Image() *image.Gray {
	g := image.NewGray(image.Rect(0, 0, m.W, m.H))
	for i, v := range m.Pix {
		if v {
			g.Pix[i] = 255
		}
	}
	return g
}

// PrepareMask reads the defect mask of an image of imageW×imageH pixels, checks that
// the sizes agree and prepares it (Mask.Prepare): the S×S mask for pixel metrics and
// the grid for the head.
func PrepareMask(path string, imageW, imageH, size, patch int) (*Mask, []bool, error) {
	m, err := ReadMask(path)
	if err != nil {
		return nil, nil, err
	}
	if err := CheckMaskSize(imageW, imageH, m.W, m.H); err != nil {
		return nil, nil, fmt.Errorf("%w (mask %s)", err, path)
	}
	return m.Prepare(size, patch)
}

// Prepare resizes the mask to size×size (ResizeNearest, PyTorch's convention) and maps
// it onto the patch grid (PatchMask): the S×S mask for pixel metrics and the grid for
// the head. This is the one mask step of the pipeline (spec §2).
func (m *Mask) Prepare(size, patch int) (*Mask, []bool, error) {
	if size <= 0 || patch <= 0 || size%patch != 0 {
		return nil, nil, fmt.Errorf("imaging: input size %d is not a positive multiple of the patch size %d", size, patch)
	}
	if m.W < 1 || m.H < 1 {
		return nil, nil, fmt.Errorf("imaging: empty %d×%d mask", m.W, m.H)
	}
	r := m.ResizeNearest(size, size)
	return r, PatchMask(r, patch), nil
}
