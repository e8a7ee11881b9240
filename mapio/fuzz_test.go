package mapio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// tiffEntry is one IFD entry of a hand-made TIFF: a tag with one SHORT or LONG value
// (or, with count > 1, a value offset).
type tiffEntry struct {
	tag, typ uint16
	count    uint32
	value    uint32
}

// craftTIFF writes a little-endian TIFF whose directory holds entries, followed by
// payload at offset 8 (the directory follows the payload).
func craftTIFF(entries []tiffEntry, payload []byte) []byte {
	le := binary.LittleEndian
	b := []byte("II")
	b = le.AppendUint16(b, 42)
	b = le.AppendUint32(b, uint32(8+len(payload)))
	b = append(b, payload...)
	b = le.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = le.AppendUint16(b, e.tag)
		b = le.AppendUint16(b, e.typ)
		b = le.AppendUint32(b, max(e.count, 1))
		if e.typ == typeShort && e.count <= 1 {
			b = le.AppendUint16(b, uint16(e.value))
			b = le.AppendUint16(b, 0)
		} else {
			b = le.AppendUint32(b, e.value)
		}
	}
	return le.AppendUint32(b, 0)
}

// floatTIFF returns the entries of a w×h map of 32-bit floats in one strip of n bytes at
// offset off, with the given bits per sample and sample format.
func floatTIFF(w, h, off, n uint32, bps, format uint32) []tiffEntry {
	return []tiffEntry{
		{tagImageWidth, typeLong, 1, w}, {tagImageLength, typeLong, 1, h},
		{tagBitsPerSample, typeShort, 1, bps}, {tagCompression, typeShort, 1, 1},
		{tagPhotometric, typeShort, 1, 1}, {tagStripOffsets, typeLong, 1, off},
		{tagSamplesPerPixel, typeShort, 1, 1}, {tagRowsPerStrip, typeLong, 1, h},
		{tagStripByteCounts, typeLong, 1, n}, {tagSampleFormat, typeShort, 1, format},
	}
}

// stripsTIFF returns a w×h TIFF with the given bits per sample and format whose strips
// are at offsets with the byte counts given; px follows the header at offset 8, then
// the offset and count arrays.
func stripsTIFF(w, h, bps, format uint32, offsets, counts []uint32, px []byte) []byte {
	payload := append([]byte(nil), px...)
	at := func(vs []uint32) uint32 {
		off := uint32(8 + len(payload))
		for _, v := range vs {
			payload = binary.LittleEndian.AppendUint32(payload, v)
		}
		return off
	}
	e := floatTIFF(w, h, 0, 0, bps, format)[:5]
	e = append(e, tiffEntry{tagStripOffsets, typeLong, uint32(len(offsets)), at(offsets)},
		tiffEntry{tagStripByteCounts, typeLong, uint32(len(counts)), at(counts)})
	if len(offsets) == 1 { // a single value sits in the entry itself
		e[5].value, e[6].value = offsets[0], counts[0]
	}
	return craftTIFF(append(e, tiffEntry{tagSampleFormat, typeShort, 1, format}), payload)
}

// float32Bytes returns the little-endian bytes of vs.
func float32Bytes(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// brokenMaps are hand-made bad or odd map files: each name says what is wrong.
func brokenMaps() map[string][]byte {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	px := float32Bytes(0.5, nan, inf, -inf)
	const huge = 1 << 30
	return map[string][]byte{
		"nan and inf samples":      craftTIFF(floatTIFF(2, 2, 8, 16, 32, 3), px),
		"huge declared size":       craftTIFF(floatTIFF(huge, huge, 8, 16, 32, 3), px),
		"size at the limit":        craftTIFF(floatTIFF(1<<14, 1<<14, 8, 16, 32, 3), px),
		"strip beyond the file":    craftTIFF(floatTIFF(2, 2, 1<<31, 16, 32, 3), px),
		"strip count too large":    craftTIFF(floatTIFF(2, 2, 8, 1<<31, 32, 3), px),
		"strip shorter than map":   craftTIFF(floatTIFF(2, 2, 8, 15, 32, 3), px),
		"signed int samples":       craftTIFF(floatTIFF(2, 2, 8, 16, 32, 2), px),
		"12-bit floats":            craftTIFF(floatTIFF(2, 2, 8, 16, 12, 3), px),
		"float 8-bit samples":      craftTIFF(floatTIFF(4, 4, 8, 16, 8, 3), px),
		"8-bit unsigned":           craftTIFF(floatTIFF(4, 4, 8, 16, 8, 1), px),
		"16-bit unsigned":          craftTIFF(floatTIFF(4, 2, 8, 16, 16, 1), px),
		"64-bit floats":            craftTIFF(floatTIFF(1, 2, 8, 16, 64, 3), px),
		"zero width":               craftTIFF(floatTIFF(0, 2, 8, 16, 32, 3), px),
		"many strips, overlapping": stripsTIFF(2, 2, 32, 3, []uint32{8, 8, 8, 8}, []uint32{4, 8, 16, 16}, px),
		"strips in reverse order":  stripsTIFF(2, 2, 32, 3, []uint32{16, 8}, []uint32{8, 8}, px),
		"strip values out of range": craftTIFF(append(floatTIFF(2, 2, 8, 16, 32, 3)[:5],
			tiffEntry{tagStripOffsets, typeLong, 1000, 8}, tiffEntry{tagStripByteCounts, typeLong, 1000, 8}), px),
		"directory beyond the file": append([]byte("II*\x00\xff\xff\xff\x7f"), px...),
		"bigtiff":                   []byte("II+\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
		"big-endian header only":    []byte("MM\x00*\x00\x00\x00\x08"),
		"truncated":                 craftTIFF(floatTIFF(2, 2, 8, 16, 32, 3), px)[:30],
		"empty":                     nil,
		"wrong magic":               []byte("GIF89a"),
	}
}

// pngMap encodes a grey image for the seed corpus.
func pngMap(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// allocated returns the bytes allocated so far by the process.
func allocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// FuzzDecodeMap decodes arbitrary bytes as a map file. An error must carry the
// package prefix; a map must have a consistent size within the pixel limit, must
// cost memory in proportion to its pixels and the input only, and must survive a
// float TIFF round trip bit for bit (NaN and Inf included).
func FuzzDecodeMap(f *testing.F) {
	defer func(old uint64) { maxPixels = old }(maxPixels)
	maxPixels = 1 << 20 // decoding stays fast while fuzzing
	files, _ := filepath.Glob(filepath.Join("testdata", "*.tif*"))
	pngs, _ := filepath.Glob(filepath.Join("testdata", "*.png"))
	for _, p := range append(files, pngs...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, b := range brokenMaps() {
		f.Add(b)
	}
	f.Add(pngMap(f, image.NewGray(image.Rect(0, 0, 1, 1))))
	f.Add(pngMap(f, image.NewGray16(image.Rect(0, 0, 3, 2))))
	f.Add(pngMap(f, image.NewRGBA(image.Rect(0, 0, 1, 1))))
	f.Fuzz(func(t *testing.T, data []byte) {
		done := time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("decoding %d bytes takes more than 5 s", len(data))) })
		defer done.Stop()
		before := allocated()
		m, src, err := Decode(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "mapio: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			if got := allocated() - before; got > uint64(64*len(data))+1<<20 {
				t.Fatalf("refusing %d bytes allocated %d bytes", len(data), got)
			}
			return
		}
		if m.W <= 0 || m.H <= 0 || uint64(m.W)*uint64(m.H) > maxPixels || len(m.Pix) != m.W*m.H {
			t.Fatalf("%s map %d×%d with %d values (limit %d)", src, m.W, m.H, len(m.Pix), maxPixels)
		}
		switch src {
		case SourceFloatTIFF, SourceIntTIFF:
			// Raw samples: the file holds at least a byte per pixel.
			if len(m.Pix) > len(data) {
				t.Fatalf("%d pixels from a %d-byte TIFF", len(m.Pix), len(data))
			}
		case SourcePNG8, SourcePNG16:
		default:
			t.Fatalf("unknown source %q", src)
		}
		if got, limit := allocated()-before, uint64(32*len(m.Pix)+64*len(data))+1<<20; got > limit {
			t.Fatalf("a %d×%d map from %d bytes allocated %d bytes (bound %d)", m.W, m.H, len(data), got, limit)
		}
		hasNaN := false
		for _, v := range m.Pix {
			hasNaN = hasNaN || v != v
		}
		if mx := m.Max(); (mx != mx) != hasNaN {
			t.Fatalf("Max is %v, map has NaN: %v", mx, hasNaN)
		}

		var b bytes.Buffer
		if err := WriteTIFF(&b, m); err != nil {
			t.Fatalf("WriteTIFF: %v", err)
		}
		back, src2, err := Decode(b.Bytes())
		if err != nil || src2 != SourceFloatTIFF || back.W != m.W || back.H != m.H {
			t.Fatalf("round trip: %v, %s %v", err, src2, back)
		}
		for i, v := range m.Pix {
			if math.Float32bits(back.Pix[i]) != math.Float32bits(v) {
				t.Fatalf("round trip changed value %d from %v to %v", i, v, back.Pix[i])
			}
		}
	})
}

// TestBrokenMapsRefusedCheaply checks the hand-made bad files: each gives an error
// with the package prefix, and none costs more than a few kilobytes, however large the
// size or strips its header declares.
func TestBrokenMapsRefusedCheaply(t *testing.T) {
	good := map[string]bool{"nan and inf samples": true, "8-bit unsigned": true, "16-bit unsigned": true,
		"64-bit floats": true, "many strips, overlapping": true, "strips in reverse order": true}
	for name, b := range brokenMaps() {
		before := allocated()
		m, _, err := Decode(b)
		got := allocated() - before
		if good[name] {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: decoded as a %d×%d map", name, m.W, m.H)
			continue
		}
		if !strings.HasPrefix(err.Error(), "mapio: ") {
			t.Errorf("%s: error without prefix: %v", name, err)
		}
		if got > 64<<10 {
			t.Errorf("%s: refusing it allocated %d bytes", name, got)
		}
	}
}

// TestTIFFHugeDeclarations covers the resource bounds of the TIFF reader: a map
// declaring 2^28 pixels (the limit) whose strips lie beyond the file, or many strips
// that all point at the same bytes, is refused without allocating the map.
func TestTIFFHugeDeclarations(t *testing.T) {
	px := make([]byte, 64)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"limit-sized map, one short strip":       {craftTIFF(floatTIFF(1<<14, 1<<14, 8, 64, 32, 3), px), "strips hold 64 bytes"},
		"limit-sized map, strip beyond the file": {craftTIFF(floatTIFF(1<<14, 1<<14, 8, 1<<30, 32, 3), px), "TIFF truncated: strip 0"},
		"over the limit":                         {craftTIFF(floatTIFF(1<<15, 1<<14, 8, 64, 32, 3), px), "bad size 32768×16384"},
		"many strips over the whole file": {stripsTIFF(1<<14, 1<<14, 64, 3, slices.Repeat([]uint32{8}, 1000),
			slices.Repeat([]uint32{64}, 1000), px), "strips hold 64000 bytes"},
	}
	for name, c := range cases {
		before := allocated()
		_, _, err := Decode(c.data)
		got := allocated() - before
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
		if got > 64<<10 {
			t.Errorf("%s: allocated %d bytes before refusing", name, got)
		}
	}
}
