package imaging

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fuzzMaxPixels is the pixel limit during fuzzing: small enough that an accepted
// image decodes in milliseconds, so the fuzzer explores instead of waiting.
const fuzzMaxPixels = 1 << 20

// pngHeader returns the signature and IHDR chunk (with a correct CRC) of a PNG of
// the given size, bit depth and colour type, and no pixel data.
func pngHeader(w, h uint32, depth, colorType byte) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, depth, colorType, 0, 0, 0)
	b := []byte("\x89PNG\r\n\x1a\n")
	b = binary.BigEndian.AppendUint32(b, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b = append(b, chunk...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
}

// bmpHeader returns the 54-byte header of a 24-bit BMP of the given size, with no
// pixel data after it.
func bmpHeader(w, h int32) []byte {
	le := binary.LittleEndian
	b := []byte("BM")
	b = le.AppendUint32(b, 54)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 54)
	b = le.AppendUint32(b, 40)
	b = le.AppendUint32(b, uint32(w))
	b = le.AppendUint32(b, uint32(h))
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 24)
	return append(b, make([]byte, 24)...)
}

// tiffHeader returns a little-endian 8-bit grey TIFF of the given size whose single
// strip claims w·h bytes at offset 8 of a file that ends after its directory.
func tiffHeader(w, h uint32) []byte {
	le := binary.LittleEndian
	type e struct {
		tag, typ uint16
		v        uint32
	}
	es := []e{{256, 4, w}, {257, 4, h}, {258, 3, 8}, {259, 3, 1}, {262, 3, 1}, {273, 4, 8}, {277, 3, 1}, {278, 4, h}, {279, 4, w * h}}
	b := []byte("II")
	b = le.AppendUint16(b, 42)
	b = le.AppendUint32(b, 8)
	b = le.AppendUint16(b, uint16(len(es)))
	for _, x := range es {
		b = le.AppendUint16(b, x.tag)
		b = le.AppendUint16(b, x.typ)
		b = le.AppendUint32(b, 1)
		b = le.AppendUint32(b, x.v)
	}
	return le.AppendUint32(b, 0)
}

// gifHeader returns a GIF89a logical screen and image descriptor of the given size
// with an empty LZW stream.
func gifHeader(w, h uint16) []byte {
	le := binary.LittleEndian
	b := []byte("GIF89a")
	b = le.AppendUint16(b, w)
	b = le.AppendUint16(b, h)
	b = append(b, 0x80, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, ',', 0, 0, 0, 0)
	b = le.AppendUint16(b, w)
	b = le.AppendUint16(b, h)
	return append(b, 0, 2, 0, ';')
}

// jpegHeader returns the markers of a baseline grey JPEG of the given size (SOI,
// SOF0, SOS) without tables or scan data.
func jpegHeader(w, h uint16) []byte {
	b := []byte{0xff, 0xd8, 0xff, 0xc0, 0, 11, 8}
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	return append(b, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0, 0xff, 0xd9)
}

// pngBytes encodes a small image for the seed corpus.
func pngBytes(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// imageSeeds are the seeds shared by FuzzDecodeImage and FuzzReadMask: every decoder
// fixture, the backbone fixture's input, tiny images, headers claiming 20000×20000
// pixels (refused by the pixel limit before any allocation) and broken files.
func imageSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "decode", "*"))
	files = append(files, filepath.Join("..", "testdata", "fixtures", "dinov2-tiny", "input.png"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2]) // truncated
	}
	g16 := image.NewGray16(image.Rect(0, 0, 1, 1))
	g16.SetGray16(0, 0, color.Gray16{Y: 0x1234})
	pal := image.NewPaletted(image.Rect(0, 0, 1, 1), color.Palette{color.NRGBA{1, 2, 3, 4}})
	for _, img := range []image.Image{image.NewGray(image.Rect(0, 0, 1, 1)), g16, pal,
		image.NewNRGBA(image.Rect(0, 0, 1, 1)), image.NewNRGBA64(image.Rect(0, 0, 2, 1))} {
		f.Add(pngBytes(f, img))
	}
	const huge = 20000
	for _, b := range [][]byte{
		pngHeader(huge, huge, 8, 2), pngHeader(huge, huge, 16, 4), pngHeader(1, 1, 16, 0), pngHeader(1<<31-1, 1, 8, 0),
		pngHeader(0, 5, 8, 0), bmpHeader(huge, huge), bmpHeader(huge, -huge), bmpHeader(-1, 1), tiffHeader(huge, huge),
		tiffHeader(1, 1), gifHeader(huge/2, huge/2), jpegHeader(huge/2, huge/2), jpegHeader(1, 1),
		nil, []byte("P6\n1 1\n255\n\x00\x00\x00"), []byte("not an image at all\n"), {0xff, 0xd8}, []byte("BM"), []byte("II*\x00"),
	} {
		f.Add(b)
	}
}

// allocated returns the bytes allocated so far by the process (all goroutines).
func allocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// checkAllocation fails when decoding data allocated more than a bound that is
// linear in the pixels actually decoded and the input's length: a header's claims
// alone must never cost memory.
func checkAllocation(t *testing.T, before uint64, pixels, dataLen int) {
	t.Helper()
	limit := uint64(80*pixels+64*dataLen) + 8<<20
	if got := allocated() - before; got > limit {
		t.Fatalf("allocated %d bytes for %d pixels from %d bytes of input (bound %d)", got, pixels, dataLen, limit)
	}
}

// watchdog panics, with every goroutine's stack, when the input being fuzzed takes
// longer than d: a hang becomes a crasher the fuzzer records. Stop it when done.
func watchdog(d time.Duration) (stop func() bool) {
	return time.AfterFunc(d, func() {
		buf := make([]byte, 1<<20)
		panic(fmt.Sprintf("input still running after %v:\n%s", d, buf[:runtime.Stack(buf, true)]))
	}).Stop
}

// checkError fails on an error without the package prefix.
func checkError(t *testing.T, err error) {
	t.Helper()
	if !strings.HasPrefix(err.Error(), "imaging: ") {
		t.Fatalf("error without the package prefix: %v", err)
	}
}

// FuzzDecodeImage decodes arbitrary bytes as the CLI reads an input image: DecodeRGB,
// then the backbone's resize and normalisation at a small size. Whatever decodes must
// have a consistent size within the pixel limit, survive a PNG round trip unchanged,
// and normalise to finite values in the range of the ImageNet statistics.
func FuzzDecodeImage(f *testing.F) {
	defer func(old int64) { MaxPixels = old }(MaxPixels)
	MaxPixels = fuzzMaxPixels
	imageSeeds(f)
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for c := range 3 {
		lo = min(lo, (0-Mean[c])/Std[c])
		hi = max(hi, (1-Mean[c])/Std[c])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog(5 * time.Second)()
		before := allocated()
		img, err := DecodeRGB(data)
		if err != nil {
			checkError(t, err)
			checkAllocation(t, before, 0, len(data))
			return
		}
		if img.W <= 0 || img.H <= 0 || int64(img.W)*int64(img.H) > MaxPixels || len(img.Pix) != 3*img.W*img.H {
			t.Fatalf("decoded %d×%d with %d bytes (limit %d pixels)", img.W, img.H, len(img.Pix), MaxPixels)
		}
		checkAllocation(t, before, img.W*img.H, len(data))

		// PNG round trip: 8-bit RGB is stored losslessly and must come back unchanged.
		again, err := DecodeRGB(pngBytes(t, img))
		if err != nil {
			t.Fatalf("re-encoded image does not decode: %v", err)
		}
		if again.W != img.W || again.H != img.H || !bytes.Equal(again.Pix, img.Pix) {
			t.Fatal("PNG round trip changed the image")
		}

		const size = 14
		x := PreprocessRGB(img, size)
		if len(x) != 3*size*size {
			t.Fatalf("Preprocess gave %d values, want %d", len(x), 3*size*size)
		}
		for i, v := range x {
			if !(v >= lo && v <= hi) {
				t.Fatalf("normalised value %d is %v, outside [%v, %v]", i, v, lo, hi)
			}
		}
		if r := Resize(img, 1, 3); r.W != 1 || r.H != 3 || len(r.Pix) != 9 {
			t.Fatalf("Resize to 1×3 gave %d×%d with %d bytes", r.W, r.H, len(r.Pix))
		}
	})
}

// FuzzReadMask decodes arbitrary bytes as a defect mask and maps it onto the patch
// grid. A decoded mask must agree pixel for pixel with the image decoder's RGB
// (defect ⇔ PIL grey level ≠ 0), and each patch of PatchMask must be a defect exactly
// when its window holds a defect pixel.
func FuzzReadMask(f *testing.F) {
	defer func(old int64) { MaxPixels = old }(MaxPixels)
	MaxPixels = fuzzMaxPixels
	imageSeeds(f)
	path := filepath.Join(f.TempDir(), "mask.png")
	f.Fuzz(func(t *testing.T, data []byte) {
		defer watchdog(5 * time.Second)()
		before := allocated()
		m, err := DecodeMask(data)
		if err != nil {
			checkError(t, err)
			checkAllocation(t, before, 0, len(data))
			return
		}
		if m.W <= 0 || m.H <= 0 || int64(m.W)*int64(m.H) > MaxPixels || len(m.Pix) != m.W*m.H {
			t.Fatalf("decoded a %d×%d mask with %d pixels (limit %d)", m.W, m.H, len(m.Pix), MaxPixels)
		}
		checkAllocation(t, before, m.W*m.H, len(data))
		rgb, err := DecodeRGB(data)
		if err != nil || rgb.W != m.W || rgb.H != m.H {
			t.Fatalf("decodes as a %d×%d mask but not as the same image: %v", m.W, m.H, err)
		}
		for i, v := range m.Pix {
			p := rgb.Pix[3*i:]
			if v != (luma(p[0], p[1], p[2]) != 0) {
				t.Fatalf("mask pixel %d is %v, image pixel %v", i, v, p[:3])
			}
		}

		// The file path of the CLI, resized to 28×28 and mapped onto a 2×2 grid.
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		const size, patch = 28, 14
		if err := CheckMaskSize(m.W+1, m.H, m.W, m.H); err == nil {
			t.Fatal("CheckMaskSize accepted differing sizes")
		}
		small, grid, err := PrepareMask(path, m.W, m.H, size, patch)
		if err != nil {
			t.Fatalf("PrepareMask: %v", err)
		}
		if small.W != size || small.H != size || len(grid) != 4 {
			t.Fatalf("PrepareMask gave a %d×%d mask and %d patches", small.W, small.H, len(grid))
		}
		if m.Empty() && !small.Empty() {
			t.Fatal("resizing an empty mask made defects")
		}
		for i, v := range grid {
			gy, gx := i/2, i%2
			hit := false
			for y := max(patch*gy-1, 0); y < min(patch*gy+patch-1, size); y++ {
				for x := max(patch*gx-1, 0); x < min(patch*gx+patch-1, size); x++ {
					hit = hit || small.Pix[y*size+x]
				}
			}
			if v != hit {
				t.Fatalf("patch %d is %v, its window %v", i, v, hit)
			}
		}
	})
}
