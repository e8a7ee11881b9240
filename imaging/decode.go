package imaging

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"strconv"
	"strings"

	// Decoders registered with image.Decode: PNG, JPEG, GIF, BMP and TIFF.
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/tiff"
)

// DefaultMaxPixels is the default of MaxPixels.
const DefaultMaxPixels = 100_000_000

// MaxPixelsEnv is the environment variable MaxPixelsFromEnv reads: a positive
// integer, in pixels (width × height).
const MaxPixelsEnv = "IDEAL_MAX_PIXELS"

// MaxPixels bounds width×height of any image or mask this package decodes. It is
// checked from the file header, before any pixel memory is allocated. It starts as
// DefaultMaxPixels. Set it once at start-up (from a flag, or MaxPixelsFromEnv); it is
// not synchronised.
var MaxPixels int64 = DefaultMaxPixels

// MaxPixelsFromEnv sets MaxPixels from $IDEAL_MAX_PIXELS when that is set; a program
// calls it at start-up (the package itself reads no environment). A malformed value is
// an error, so that a typo cannot silently leave the default in force, and leaves
// MaxPixels unchanged.
func MaxPixelsFromEnv() error {
	n, err := parseMaxPixels(os.Getenv(MaxPixelsEnv))
	if err != nil {
		return fmt.Errorf("imaging: %w", err)
	}
	MaxPixels = n
	return nil
}

// parseMaxPixels reads the value of $IDEAL_MAX_PIXELS ("" is the default).
func parseMaxPixels(s string) (int64, error) {
	if s == "" {
		return DefaultMaxPixels, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return DefaultMaxPixels, fmt.Errorf("%s=%q is not a positive whole number of pixels", MaxPixelsEnv, s)
	}
	return n, nil
}

// RGB is an 8-bit RGB image: W×H pixels, row-major, 3 bytes (R, G, B) per pixel.
// It implements image.Image so that it can be handed to image/png and friends.
type RGB struct {
	W, H int
	Pix  []uint8
}

// NewRGB returns a black w×h image.
func NewRGB(w, h int) *RGB {
	if w < 0 || h < 0 {
		panic(fmt.Sprintf("imaging: negative size %d×%d", w, h))
	}
	return &RGB{W: w, H: h, Pix: make([]uint8, 3*w*h)}
}

// ColorModel implements image.Image.
func (m *RGB) ColorModel() color.Model { return color.RGBAModel }

// Bounds implements image.Image.
func (m *RGB) Bounds() image.Rectangle { return image.Rect(0, 0, m.W, m.H) }

// At implements image.Image.
func (m *RGB) At(x, y int) color.Color {
	if x < 0 || y < 0 || x >= m.W || y >= m.H {
		return color.RGBA{}
	}
	p := m.Pix[3*(y*m.W+x):]
	return color.RGBA{p[0], p[1], p[2], 255}
}

// RGBA returns the image as an opaque *image.RGBA.
func (m *RGB) RGBA() *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, m.W, m.H))
	for i, j := 0, 0; i < len(m.Pix); i, j = i+3, j+4 {
		out.Pix[j], out.Pix[j+1], out.Pix[j+2], out.Pix[j+3] = m.Pix[i], m.Pix[i+1], m.Pix[i+2], 255
	}
	return out
}

// Clone returns a deep copy.
func (m *RGB) Clone() *RGB {
	return &RGB{W: m.W, H: m.H, Pix: append([]uint8(nil), m.Pix...)}
}

// LoadRGB reads an image file (PNG, JPEG, BMP, TIFF or GIF, its first frame) and converts it to 8-bit RGB
// the way PIL's Image.open(path).convert("RGB") does (see the package comment).
func LoadRGB(path string) (*RGB, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	img, err := decodeImage(data)
	if err != nil {
		return nil, fmt.Errorf("imaging: %s: %w", path, err)
	}
	return FromImage(img), nil
}

// DecodeRGB decodes an encoded image held in memory, as LoadRGB does for a file.
func DecodeRGB(data []byte) (*RGB, error) {
	img, err := decodeImage(data)
	if err != nil {
		return nil, fmt.Errorf("imaging: %w", err)
	}
	return FromImage(img), nil
}

// ImageSize reads only the header of an image file and returns its width and height.
func ImageSize(path string) (w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("imaging: %w", err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(fileReader{bufio.NewReader(f), f})
	if err != nil {
		return 0, 0, fmt.Errorf("imaging: %s: %w", path, explain(err, nil))
	}
	return cfg.Width, cfg.Height, nil
}

func readFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("imaging: %w", err)
	}
	return data, nil
}

// decodeImage checks the header (format, size, pixel limit) before decoding.
func decodeImage(data []byte) (image.Image, error) {
	if len(data) == 0 {
		return nil, errors.New("empty file")
	}
	cfg, format, err := image.DecodeConfig(newPeekReader(data))
	if err != nil {
		return nil, explain(err, data)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%s image has zero size (%d×%d)", format, cfg.Width, cfg.Height)
	}
	if n := int64(cfg.Width) * int64(cfg.Height); n > MaxPixels {
		return nil, fmt.Errorf("%s image is %d×%d = %d pixels, more than the limit of %d (set %s to raise it)",
			format, cfg.Width, cfg.Height, n, MaxPixels, MaxPixelsEnv)
	}
	img, err := safeDecode(data)
	if err != nil {
		return nil, fmt.Errorf("corrupt %s data: %w", format, explain(err, data))
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, fmt.Errorf("corrupt %s data: header says %d×%d, pixels are %d×%d",
			format, cfg.Width, cfg.Height, b.Dx(), b.Dy())
	}
	return img, nil
}

// safeDecode runs the registered decoder, turning a panic inside it (a decoder bug
// triggered by a malformed file) into an error: user input must never crash a run.
func safeDecode(data []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("decoder failed on malformed data: %v", r)
		}
	}()
	img, _, err = image.Decode(newPeekReader(data))
	return img, err
}

// fileReader gives image.DecodeConfig both a buffered, peekable stream and the file's
// ReadAt, for the reason given at peekReader.
type fileReader struct {
	*bufio.Reader
	io.ReaderAt
}

// peekReader reads an in-memory file. Its Peek spares image.Decode a bufio wrapper,
// so that its ReadAt reaches the TIFF decoder, which otherwise buffers the stream in
// chunks of 10 MB to follow an offset beyond the end of a short file.
type peekReader struct{ *bytes.Reader }

func newPeekReader(data []byte) peekReader { return peekReader{bytes.NewReader(data)} }

// Peek returns the next n bytes without consuming them (fewer and io.EOF at the end).
func (r peekReader) Peek(n int) ([]byte, error) {
	pos := r.Size() - int64(r.Len())
	b := make([]byte, min(n, r.Len()))
	r.ReadAt(b, pos)
	if len(b) < n {
		return b, io.EOF
	}
	return b, nil
}

// explain turns the decoders' terse errors into messages a user can act on.
func explain(err error, data []byte) error {
	switch {
	case errors.Is(err, image.ErrFormat):
		if looksLikeText(data) {
			return errors.New("not an image: the file holds text")
		}
		return errors.New("unknown image format (want PNG, JPEG, BMP, TIFF or GIF)")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("file is truncated (%v)", err)
	}
	return err
}

func looksLikeText(data []byte) bool {
	if len(data) == 0 {
		return false
	}
	n := min(len(data), 512)
	for _, c := range data[:n] {
		if c < 0x09 || (c > 0x0d && c < 0x20) || c == 0x7f {
			return false
		}
	}
	return true
}

// FromImage converts any decoded image to 8-bit RGB with PIL's convert("RGB") rules:
// grey repeats the channel; alpha is dropped, not composited (straight colour is kept,
// premultiplied colour is un-premultiplied first); 16-bit colour keeps the high byte;
// 16-bit grey is clipped to 255 (PIL opens it as mode "I" or "I;16" and clips);
// palette indices are looked up. The result's origin is (0, 0).
func FromImage(img image.Image) *RGB {
	b := img.Bounds()
	out := NewRGB(b.Dx(), b.Dy())
	if src, ok := img.(*image.YCbCr); ok && b.Min == (image.Point{}) {
		return fromYCbCr(src)
	}
	if !convertPix(out, img) {
		convertColors(out, img)
	}
	return out
}

// put sets pixel (x, y) of m to (r, g, bl).
func (m *RGB) put(x, y int, r, g, bl uint8) {
	p := m.Pix[3*(y*m.W+x):]
	p[0], p[1], p[2] = r, g, bl
}

// convertPix fills out from the pixel buffer of img, of out's size, when img is one
// of the grey, RGBA or palette types of package image read directly; it reports
// whether it was.
func convertPix(out *RGB, img image.Image) bool {
	w, h := out.W, out.H
	switch src := img.(type) {
	case *image.Gray:
		for y := range h {
			row := src.Pix[y*src.Stride:]
			for x := range w {
				v := row[x]
				out.put(x, y, v, v, v)
			}
		}
	case *image.Gray16:
		for y := range h {
			row := src.Pix[y*src.Stride:]
			for x := range w {
				v := uint16(row[2*x])<<8 | uint16(row[2*x+1])
				c := uint8(min(v, 255))
				out.put(x, y, c, c, c)
			}
		}
	case *image.NRGBA:
		for y := range h {
			row := src.Pix[y*src.Stride:]
			for x := range w {
				out.put(x, y, row[4*x], row[4*x+1], row[4*x+2])
			}
		}
	case *image.NRGBA64:
		for y := range h {
			row := src.Pix[y*src.Stride:]
			for x := range w {
				out.put(x, y, row[8*x], row[8*x+2], row[8*x+4])
			}
		}
	case *image.RGBA:
		for y := range h {
			row := src.Pix[y*src.Stride:]
			for x := range w {
				p := row[4*x:]
				out.put(x, y, unpremul8(p[0], p[3]), unpremul8(p[1], p[3]), unpremul8(p[2], p[3]))
			}
		}
	case *image.Paletted:
		convertPaletted(out, src)
	default:
		return false
	}
	return true
}

// convertPaletted fills out from src, of out's size, looking its indices up in its
// palette; indices past the palette are black.
func convertPaletted(out *RGB, src *image.Paletted) {
	pal := make([][3]uint8, 256)
	for i, c := range src.Palette {
		if i < 256 {
			pal[i] = straightRGB(c)
		}
	}
	for y := range out.H {
		row := src.Pix[y*src.Stride:]
		for x := range out.W {
			c := pal[row[x]]
			out.put(x, y, c[0], c[1], c[2])
		}
	}
}

// convertColors fills out from img, of out's size, pixel by pixel through its
// colours: YCbCr ones converted as image/jpeg does, the others by straightRGB.
func convertColors(out *RGB, img image.Image) {
	b := img.Bounds()
	if src, ok := img.(*image.YCbCr); ok {
		for y := range out.H {
			for x := range out.W {
				c := src.YCbCrAt(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
				out.put(x, y, r, g, bl)
			}
		}
		return
	}
	for y := range out.H {
		for x := range out.W {
			c := straightRGB(img.At(b.Min.X+x, b.Min.Y+y))
			out.put(x, y, c[0], c[1], c[2])
		}
	}
}

// unpremul8 undoes alpha premultiplication as PIL's "RGBa" unpacker does
// (integer division, zero colour where alpha is zero).
func unpremul8(c, a uint8) uint8 {
	switch a {
	case 255:
		return c
	case 0:
		return 0
	}
	return uint8(min(int(c)*255/int(a), 255))
}

// straightRGB returns the non-premultiplied 8-bit colour of c, alpha dropped.
func straightRGB(c color.Color) [3]uint8 {
	switch c := c.(type) {
	case color.NRGBA:
		return [3]uint8{c.R, c.G, c.B}
	case color.Gray:
		return [3]uint8{c.Y, c.Y, c.Y}
	case color.NRGBA64:
		return [3]uint8{uint8(c.R >> 8), uint8(c.G >> 8), uint8(c.B >> 8)}
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return [3]uint8{uint8(n.R >> 8), uint8(n.G >> 8), uint8(n.B >> 8)}
}
