// Package mapio reads and writes anomaly maps, one float32 map per test image, in
// the layout of the official MVTec AD evaluation:
//
//	MAPS/<class>/test/<type>/<name>.tiff
//
// where <type> is the image's defect type ("good" for normal images) and <name> its
// file name without the extension. Maps are single-channel 32-bit float TIFFs
// (SampleFormat 3), little-endian, uncompressed, one strip; the reader also takes
// big-endian and multi-strip files, 64-bit floats (rounded to float32), 8/16-bit
// unsigned TIFFs, and 8- or 16-bit grey PNGs, whose maps are their integer grey
// levels (0–255 or 0–65535; only the order of the values matters to the metrics, but
// so few levels make many ties). Writes are atomic.
package mapio

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/ideal-fsad/ideal/internal/atomicfile"
)

// maxPixels bounds the size of a map read from a file (2^28 pixels, 1 GiB of
// float32), so a corrupt header cannot ask for unbounded memory. A variable only so
// that the fuzz tests can lower it.
var maxPixels uint64 = 1 << 28

// Map is one anomaly map: W×H float32 values, row-major.
type Map struct {
	W, H int
	Pix  []float32
}

func (m *Map) check() error {
	if m == nil || m.W <= 0 || m.H <= 0 || len(m.Pix) != m.W*m.H {
		if m == nil {
			return errors.New("mapio: nil map")
		}
		return fmt.Errorf("mapio: map of %d values is not %d×%d", len(m.Pix), m.W, m.H)
	}
	return nil
}

// Max is the largest value of the map (the usual image score); NaN if any
// value is NaN.
func (m *Map) Max() float32 {
	best := float32(math.Inf(-1))
	nan := false
	for _, v := range m.Pix {
		if v > best {
			best = v
		}
		nan = nan || v != v
	}
	if nan {
		return float32(math.NaN())
	}
	return best
}

// Source says what kind of file a map came from.
type Source string

// The kinds of map files Read accepts.
const (
	SourceFloatTIFF Source = "float TIFF"
	SourceIntTIFF   Source = "8/16-bit TIFF"
	SourcePNG8      Source = "8-bit PNG"
	SourcePNG16     Source = "16-bit PNG"
)

// Write writes m to path as a float32 TIFF (WriteTIFF), creating the folders
// above it, through a temporary file renamed into place.
func Write(path string, m *Map) error {
	if err := m.check(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("mapio: %w", err)
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { return WriteTIFF(w, m) }); err != nil {
		return fmt.Errorf("mapio: %w", err)
	}
	return nil
}

// Read reads a map file, TIFF or PNG (told apart by their first bytes), and says
// which kind it was.
func Read(path string) (*Map, Source, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("mapio: %w", err)
	}
	m, src, err := Decode(data)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return m, src, nil
}

// Decode decodes a map held in memory, as Read does for a file.
func Decode(data []byte) (*Map, Source, error) {
	switch {
	case bytes.HasPrefix(data, []byte("II")) || bytes.HasPrefix(data, []byte("MM")):
		m, bps, err := decodeTIFF(data)
		if err != nil {
			return nil, "", err
		}
		if bps == 8 || bps == 16 {
			return m, SourceIntTIFF, nil
		}
		return m, SourceFloatTIFF, nil
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return decodePNG(data)
	}
	return nil, "", errors.New("mapio: not a TIFF or PNG file")
}

func decodePNG(data []byte) (*Map, Source, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("mapio: PNG: %w", err)
	}
	if uint64(cfg.Width)*uint64(cfg.Height) > maxPixels {
		return nil, "", fmt.Errorf("mapio: PNG too large (%d×%d)", cfg.Width, cfg.Height)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", fmt.Errorf("mapio: PNG: %w", err)
	}
	b := img.Bounds()
	m := &Map{W: b.Dx(), H: b.Dy(), Pix: make([]float32, b.Dx()*b.Dy())}
	switch g := img.(type) {
	case *image.Gray:
		for y := range m.H {
			for x := range m.W {
				m.Pix[y*m.W+x] = float32(g.Pix[y*g.Stride+x])
			}
		}
		return m, SourcePNG8, nil
	case *image.Gray16:
		for y := range m.H {
			for x := range m.W {
				i := y*g.Stride + 2*x
				m.Pix[y*m.W+x] = float32(uint16(g.Pix[i])<<8 | uint16(g.Pix[i+1]))
			}
		}
		return m, SourcePNG16, nil
	}
	return nil, "", fmt.Errorf("mapio: PNG map must be single-channel grey (8 or 16 bit), got %T", img)
}

// Exts are the map file extensions Find tries, in order.
var Exts = []string{".tiff", ".tif", ".png"}

// RelPath is where the map of a test image goes, relative to the maps root:
// <class>/test/<defectType>/<name>.tiff, name being the image's base name without
// its extension.
func RelPath(class, defectType, imagePath string) string {
	base := filepath.Base(imagePath)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	return filepath.Join(class, "test", defectType, name+".tiff")
}

// Find returns the map file of a test image under root: RelPath with any of Exts,
// and then the same under the image's own folder name instead of defectType
// (BTAD's ok/ko, for instance). It returns the first candidate path and
// fs.ErrNotExist when there is none.
func Find(root, class, defectType, imagePath string) (string, error) {
	rel := strings.TrimSuffix(RelPath(class, defectType, imagePath), ".tiff")
	cands := []string{rel}
	if dir := filepath.Base(filepath.Dir(imagePath)); dir != defectType && dir != "." && dir != string(filepath.Separator) {
		cands = append(cands, filepath.Join(class, "test", dir, filepath.Base(rel)))
	}
	for _, c := range cands {
		for _, ext := range Exts {
			p := filepath.Join(root, c+ext)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	return filepath.Join(root, cands[0]+Exts[0]), fs.ErrNotExist
}
