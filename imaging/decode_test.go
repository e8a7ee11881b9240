package imaging

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/weights"
	"golang.org/x/image/tiff"
)

// TestDecodeMatchesPIL compares LoadRGB with PIL's Image.open(p).convert("RGB") on
// images written by PIL in many modes (testdata/gen_fixtures.py).
func TestDecodeMatchesPIL(t *testing.T) {
	exp, err := weights.ReadSafetensors(filepath.Join("testdata", "decode_expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.Tensors) < 21 {
		t.Fatalf("only %d reference images", len(exp.Tensors))
	}
	for name, want := range exp.Tensors {
		t.Run(name, func(t *testing.T) {
			img, err := LoadRGB(filepath.Join("testdata", "decode", name))
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Shape) != 3 || want.Shape[0] != img.H || want.Shape[1] != img.W || want.Shape[2] != 3 {
				t.Fatalf("decoded %d×%d, PIL gives shape %v", img.W, img.H, want.Shape)
			}
			diff, maxDiff := 0, 0
			for i, v := range img.Pix {
				d := int(v) - int(want.Data[i])
				if d != 0 {
					diff++
					maxDiff = max(maxDiff, d, -d)
				}
			}
			if strings.HasSuffix(name, ".jpg") {
				// Go's IDCT (Chen-Wang) is not libjpeg's (LL&M): a few samples differ
				// by a level or two. Chroma up-sampling and colour conversion are
				// libjpeg's (jpeg.go); with Go's own they differ by up to 94 levels here.
				t.Logf("%s: %d of %d samples differ from PIL, by at most %d levels", name, diff, len(img.Pix), maxDiff)
				if maxDiff > 3 || diff > len(img.Pix)/10 {
					t.Errorf("%s: %d samples differ from PIL, by up to %d levels", name, diff, maxDiff)
				}
				return
			}
			if diff != 0 {
				t.Errorf("%s: %d of %d samples differ from PIL, by up to %d levels", name, diff, len(img.Pix), maxDiff)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, err := os.ReadFile(filepath.Join("testdata", "decode", "rgb.png"))
	if err != nil {
		t.Fatal(err)
	}
	var zero bytes.Buffer
	// png.Encode refuses a zero-size image, so patch the header of a 1×1 one.
	if err := png.Encode(&zero, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	zeroPNG := zero.Bytes()
	copy(zeroPNG[16:20], []byte{0, 0, 0, 0}) // width 0 (the CRC is now wrong too)

	// A 1×5 TIFF whose ImageWidth tag is then set to 0.
	var tb bytes.Buffer
	if err := tiff.Encode(&tb, image.NewGray(image.Rect(0, 0, 1, 5)), nil); err != nil {
		t.Fatal(err)
	}
	zeroTIFF := tb.Bytes()
	ifd := int(binary.LittleEndian.Uint32(zeroTIFF[4:]))
	for i := range int(binary.LittleEndian.Uint16(zeroTIFF[ifd:])) {
		e := zeroTIFF[ifd+2+12*i:]
		if binary.LittleEndian.Uint16(e) == 256 { // ImageWidth
			copy(e[8:12], []byte{0, 0, 0, 0})
		}
	}

	cases := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(dir, "nope.png"), "no such file"},
		{"empty", write("empty.png", nil), "empty file"},
		{"text", write("text.png", []byte("hello, I am not a picture\n")), "holds text"},
		{"unknown", write("blob.png", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xff, 0xfe}), "unknown image format"},
		{"truncated header", write("trunc1.png", good[:20]), "truncated"},
		{"truncated data", write("trunc2.png", good[:len(good)-30]), "png"},
		{"zero size png", write("zero.png", zeroPNG), "non-positive dimension"},
		{"zero size tiff", write("zero.tif", zeroTIFF), "zero-size image"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadRGB(c.path)
			if err == nil {
				t.Fatalf("no error")
			}
			t.Log(err)
			if !strings.HasPrefix(err.Error(), "imaging: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want one starting \"imaging: \" and containing %q", err, c.want)
			}
		})
	}
}

func TestMaxPixels(t *testing.T) {
	defer func(old int64) { MaxPixels = old }(MaxPixels)
	MaxPixels = 13*7 - 1
	_, err := LoadRGB(filepath.Join("testdata", "decode", "rgb.png"))
	if err == nil || !strings.Contains(err.Error(), "13×7 = 91 pixels, more than the limit of 90") {
		t.Errorf("error %v", err)
	}
	MaxPixels = 13 * 7
	if _, err := LoadRGB(filepath.Join("testdata", "decode", "rgb.png")); err != nil {
		t.Errorf("at the limit: %v", err)
	}
}

func TestImageSize(t *testing.T) {
	w, h, err := ImageSize(filepath.Join("testdata", "decode", "rgb.tif"))
	if err != nil || w != 13 || h != 7 {
		t.Errorf("ImageSize = %d, %d, %v; want 13, 7", w, h, err)
	}
}

// TestDecodeMalformed feeds prefixes of each reference file (every length through
// the first 40 bytes, then 20 spread over the rest) and copies with corrupted bytes to the
// decoders: each must either decode or return an error — no panic, no hang.
func TestDecodeMalformed(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "decode", "*"))
	if err != nil || len(files) == 0 {
		t.Fatal("no reference files", err)
	}
	if testing.Short() {
		files = files[:4]
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		step := max(1, (len(data)-40)/20)
		for n := 0; n < len(data); n++ {
			if n > 40 && n%step != 0 {
				continue
			}
			if _, err := DecodeRGB(data[:n]); err == nil && n < len(data)/2 {
				t.Errorf("%s cut to %d of %d bytes decoded without error", f, n, len(data))
			}
			if _, err := DecodeMask(data[:n]); err == nil && n < len(data)/2 {
				t.Errorf("%s cut to %d bytes decoded as a mask", f, n)
			}
		}
		bad := append([]byte(nil), data...)
		for i := 0; i < len(bad); i += step {
			bad[i] ^= 0x5a
			_, _ = DecodeRGB(bad)
			bad[i] ^= 0x5a
		}
	}
}
