package mapio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// TIFF tags used by the reader and writer (TIFF 6.0).
const (
	tagImageWidth      = 256
	tagImageLength     = 257
	tagBitsPerSample   = 258
	tagCompression     = 259
	tagPhotometric     = 262
	tagStripOffsets    = 273
	tagSamplesPerPixel = 277
	tagRowsPerStrip    = 278
	tagStripByteCounts = 279
	tagPlanarConfig    = 284
	tagTileWidth       = 322
	tagSampleFormat    = 339
)

// knownTags are the tags decodeTIFF reads; the others are skipped unread.
var knownTags = map[uint16]bool{
	tagImageWidth: true, tagImageLength: true, tagBitsPerSample: true, tagCompression: true,
	tagStripOffsets: true, tagSamplesPerPixel: true, tagStripByteCounts: true, tagTileWidth: true,
	tagSampleFormat: true,
}

// TIFF field types.
const (
	typeShort = 3
	typeLong  = 4
)

// WriteTIFF writes m as a little-endian, uncompressed, single-strip TIFF with one
// 32-bit IEEE float sample per pixel (SampleFormat 3, BlackIsZero), the format of
// the official MVTec AD evaluation's anomaly maps.
func WriteTIFF(w io.Writer, m *Map) error {
	if err := m.check(); err != nil {
		return err
	}
	type entry struct {
		tag, typ uint16
		value    uint32
	}
	const nEntries = 10
	ifdOff := uint32(8)
	dataOff := ifdOff + 2 + nEntries*12 + 4
	n := uint32(m.W * m.H * 4)
	entries := []entry{
		{tagImageWidth, typeLong, uint32(m.W)},
		{tagImageLength, typeLong, uint32(m.H)},
		{tagBitsPerSample, typeShort, 32},
		{tagCompression, typeShort, 1},
		{tagPhotometric, typeShort, 1},
		{tagStripOffsets, typeLong, dataOff},
		{tagSamplesPerPixel, typeShort, 1},
		{tagRowsPerStrip, typeLong, uint32(m.H)},
		{tagStripByteCounts, typeLong, n},
		{tagSampleFormat, typeShort, 3},
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("II")
	b.Write(le.AppendUint16(nil, 42))
	b.Write(le.AppendUint32(nil, ifdOff))
	b.Write(le.AppendUint16(nil, nEntries))
	for _, e := range entries {
		b.Write(le.AppendUint16(nil, e.tag))
		b.Write(le.AppendUint16(nil, e.typ))
		b.Write(le.AppendUint32(nil, 1))
		if e.typ == typeShort {
			b.Write(le.AppendUint16(nil, uint16(e.value)))
			b.Write([]byte{0, 0})
		} else {
			b.Write(le.AppendUint32(nil, e.value))
		}
	}
	b.Write(le.AppendUint32(nil, 0)) // no next IFD
	out := make([]byte, b.Len()+int(n))
	copy(out, b.Bytes())
	px := out[b.Len():]
	for i, v := range m.Pix {
		le.PutUint32(px[4*i:], math.Float32bits(v))
	}
	_, err := w.Write(out)
	return err
}

// tiffField is one decoded IFD entry: its values as unsigned integers.
type tiffField []uint64

func (f tiffField) one(name string, def uint64) (uint64, error) {
	switch len(f) {
	case 0:
		return def, nil
	case 1:
		return f[0], nil
	}
	// BitsPerSample and SampleFormat repeat per sample; all must agree.
	for _, v := range f[1:] {
		if v != f[0] {
			return 0, fmt.Errorf("%s has differing values %v", name, []uint64(f))
		}
	}
	return f[0], nil
}

// DecodeTIFF decodes the first image of a baseline TIFF holding one sample per
// pixel: 32- or 64-bit IEEE floats (SampleFormat 3; 64-bit values are rounded to
// float32), or 8- or 16-bit unsigned integers (their grey levels). Either byte
// order, uncompressed, in strips. Compressed or tiled files, several samples per
// pixel and BigTIFF are errors that say so.
func DecodeTIFF(data []byte) (*Map, error) {
	m, _, err := decodeTIFF(data)
	return m, err
}

// decodeTIFF is DecodeTIFF that also returns the bits per sample.
func decodeTIFF(data []byte) (*Map, uint64, error) {
	bo, err := tiffByteOrder(data)
	if err != nil {
		return nil, 0, err
	}
	fields, err := readTIFFDirectory(data, bo)
	if err != nil {
		return nil, 0, err
	}
	w, h, bps, err := tiffLayout(fields)
	if err != nil {
		return nil, 0, err
	}
	raw, err := tiffStripData(data, fields, w, h, bps)
	if err != nil {
		return nil, 0, err
	}
	return tiffSamples(raw, bo, w, h, bps), bps, nil
}

// tiffByteOrder checks the TIFF header of data (at least 8 bytes, "II" or "MM",
// classic magic 42) and returns its byte order.
func tiffByteOrder(data []byte) (binary.ByteOrder, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("mapio: TIFF too short (%d bytes)", len(data))
	}
	var bo binary.ByteOrder
	switch string(data[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("mapio: not a TIFF file (starts with %q)", data[:2])
	}
	switch magic := bo.Uint16(data[2:]); magic {
	case 42:
	case 43:
		return nil, fmt.Errorf("mapio: BigTIFF is not supported; write a classic TIFF")
	default:
		return nil, fmt.Errorf("mapio: not a TIFF file (magic %d)", magic)
	}
	return bo, nil
}

// readTIFFDirectory decodes the known tags of the first IFD of data, whose header
// tiffByteOrder has checked.
func readTIFFDirectory(data []byte, bo binary.ByteOrder) (map[uint16]tiffField, error) {
	off := uint64(bo.Uint32(data[4:]))
	if off+2 > uint64(len(data)) {
		return nil, fmt.Errorf("mapio: TIFF truncated: directory at %d of %d bytes", off, len(data))
	}
	n := uint64(bo.Uint16(data[off:]))
	if off+2+12*n > uint64(len(data)) {
		return nil, fmt.Errorf("mapio: TIFF truncated: directory of %d entries at %d of %d bytes", n, off, len(data))
	}
	fields := map[uint16]tiffField{}
	for i := range n {
		e := data[off+2+12*i:]
		tag := bo.Uint16(e)
		if !knownTags[tag] {
			continue // only the tags the reader uses are decoded: each costs memory
		}
		if _, dup := fields[tag]; dup {
			return nil, fmt.Errorf("mapio: TIFF tag %d appears twice", tag)
		}
		f, ok, err := decodeTIFFEntry(data, bo, e)
		if err != nil {
			return nil, err
		}
		if ok {
			fields[tag] = f
		}
	}
	return fields, nil
}

// decodeTIFFEntry decodes the values of the 12-byte IFD entry e, inline or at
// their offset in data. ok is false for a field type the reader does not need.
func decodeTIFFEntry(data []byte, bo binary.ByteOrder, e []byte) (f tiffField, ok bool, err error) {
	tag, typ, count := bo.Uint16(e), bo.Uint16(e[2:]), uint64(bo.Uint32(e[4:]))
	var size uint64
	switch typ {
	case 1, 6, 7: // BYTE, SBYTE, UNDEFINED
		size = 1
	case typeShort:
		size = 2
	case typeLong:
		size = 4
	default:
		return nil, false, nil // rationals, ASCII and others: not needed
	}
	if count > uint64(len(data)) {
		return nil, false, fmt.Errorf("mapio: TIFF tag %d has a bad count %d", tag, count)
	}
	vals := e[8:12]
	if size*count > 4 {
		p := uint64(bo.Uint32(e[8:]))
		if p+size*count > uint64(len(data)) {
			return nil, false, fmt.Errorf("mapio: TIFF truncated: tag %d values at %d of %d bytes", tag, p, len(data))
		}
		vals = data[p : p+size*count]
	}
	f = make(tiffField, count)
	for j := range count {
		switch size {
		case 1:
			f[j] = uint64(vals[j])
		case 2:
			f[j] = uint64(bo.Uint16(vals[2*j:]))
		case 4:
			f[j] = uint64(bo.Uint32(vals[4*j:]))
		}
	}
	return f, true, nil
}

// tiffLayout reads the map's width, height and bits per sample from fields, and
// rejects a bad size, tiles, compression, several samples per pixel and sample
// formats other than 32/64-bit float and 8/16-bit unsigned.
func tiffLayout(fields map[uint16]tiffField) (w, h, bps uint64, err error) {
	get := func(tag uint16, name string, def uint64) (uint64, error) {
		v, err := fields[tag].one(name, def)
		if err != nil {
			return 0, fmt.Errorf("mapio: TIFF %w", err)
		}
		return v, nil
	}
	if w, err = get(tagImageWidth, "ImageWidth", 0); err != nil {
		return 0, 0, 0, err
	}
	if h, err = get(tagImageLength, "ImageLength", 0); err != nil {
		return 0, 0, 0, err
	}
	if w == 0 || h == 0 || w*h > maxPixels {
		return 0, 0, 0, fmt.Errorf("mapio: TIFF has a bad size %d×%d", w, h)
	}
	if _, tiled := fields[tagTileWidth]; tiled {
		return 0, 0, 0, fmt.Errorf("mapio: tiled TIFF is not supported; write strips")
	}
	if c, err := get(tagCompression, "Compression", 1); err != nil {
		return 0, 0, 0, err
	} else if c != 1 {
		return 0, 0, 0, fmt.Errorf("mapio: compressed TIFF (compression %d) is not supported; write it uncompressed", c)
	}
	if spp, err := get(tagSamplesPerPixel, "SamplesPerPixel", 1); err != nil {
		return 0, 0, 0, err
	} else if spp != 1 {
		return 0, 0, 0, fmt.Errorf("mapio: TIFF has %d samples per pixel; an anomaly map has one", spp)
	}
	if bps, err = get(tagBitsPerSample, "BitsPerSample", 1); err != nil {
		return 0, 0, 0, err
	}
	sf, err := get(tagSampleFormat, "SampleFormat", 1)
	if err != nil {
		return 0, 0, 0, err
	}
	switch {
	case sf == 3 && (bps == 32 || bps == 64):
	case sf == 1 && (bps == 8 || bps == 16):
	default:
		return 0, 0, 0, fmt.Errorf("mapio: TIFF samples of %d bits with SampleFormat %d are not supported "+
			"(want 32/64-bit float, SampleFormat 3, or 8/16-bit unsigned)", bps, sf)
	}
	return w, h, bps, nil
}

// tiffStripData returns the w×h samples of bps bits each, gathered from the strips
// of data that fields name.
func tiffStripData(data []byte, fields map[uint16]tiffField, w, h, bps uint64) ([]byte, error) {
	offs, counts := fields[tagStripOffsets], fields[tagStripByteCounts]
	if len(offs) == 0 || len(offs) != len(counts) {
		return nil, fmt.Errorf("mapio: TIFF has %d strip offsets and %d strip byte counts", len(offs), len(counts))
	}
	need := w * h * (bps / 8)
	// Every strip is checked against the file, and the samples needed against the
	// file's size, before anything is allocated: a header cannot ask for more memory
	// than a small multiple of the file's size.
	var total uint64
	for i, o := range offs {
		if o+counts[i] > uint64(len(data)) {
			return nil, fmt.Errorf("mapio: TIFF truncated: strip %d at %d+%d of %d bytes", i, o, counts[i], len(data))
		}
		total += counts[i]
	}
	if need > total || need > uint64(len(data)) {
		return nil, fmt.Errorf("mapio: TIFF strips hold %d bytes, a %d×%d map of %d-bit samples needs %d",
			total, w, h, bps, need)
	}
	var raw []byte
	if len(offs) == 1 {
		raw = data[offs[0] : offs[0]+counts[0]] // one strip: no copy
	} else {
		raw = make([]byte, 0, need)
		for i, o := range offs {
			if len(raw) >= int(need) {
				break // strips may overlap: never copy more than the map needs
			}
			raw = append(raw, data[o:o+min(counts[i], need-uint64(len(raw)))]...)
		}
	}
	if uint64(len(raw)) < need {
		return nil, fmt.Errorf("mapio: TIFF strips hold %d bytes, a %d×%d map of %d-bit samples needs %d",
			len(raw), w, h, bps, need)
	}
	return raw, nil
}

// tiffSamples converts the w×h samples of bps bits in raw, in byte order bo, to a
// Map.
func tiffSamples(raw []byte, bo binary.ByteOrder, w, h, bps uint64) *Map {
	m := &Map{W: int(w), H: int(h), Pix: make([]float32, w*h)}
	switch bps {
	case 8:
		for i := range m.Pix {
			m.Pix[i] = float32(raw[i])
		}
	case 16:
		for i := range m.Pix {
			m.Pix[i] = float32(bo.Uint16(raw[2*i:]))
		}
	case 32:
		raw = raw[:4*len(m.Pix)]
		if bo == binary.ByteOrder(binary.LittleEndian) {
			for i := range m.Pix {
				m.Pix[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		} else {
			for i := range m.Pix {
				m.Pix[i] = math.Float32frombits(binary.BigEndian.Uint32(raw[4*i:]))
			}
		}
	case 64:
		for i := range m.Pix {
			m.Pix[i] = float32(math.Float64frombits(bo.Uint64(raw[8*i:])))
		}
	}
	return m
}
