package weights

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"strings"
	"testing"
)

// rawRecord is a zip record written as is: its compressed bytes and the sizes and
// checksum its header declares, whatever the data really holds.
type rawRecord struct {
	name         string
	comp         []byte
	uncompressed uint64
	crc          uint32
}

// deflated returns a record of data compressed with deflate, declaring size bytes.
func deflated(t testing.TB, name string, data []byte, size uint64) rawRecord {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return rawRecord{name, b.Bytes(), size, crc32.ChecksumIEEE(data)}
}

// rawZip writes the records with their declared sizes.
func rawZip(t testing.TB, recs ...rawRecord) []byte {
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, r := range recs {
		w, err := z.CreateRaw(&zip.FileHeader{Name: r.name, Method: zip.Deflate,
			CompressedSize64: uint64(len(r.comp)), UncompressedSize64: r.uncompressed, CRC32: r.crc})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(r.comp)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPthZipDeclaredSizes is the resource bound of the .pth reader: zip records whose
// headers declare gigabytes (with or without a pickle asking for that much), and a
// small declared record whose deflate stream expands to a megabyte, are refused at a
// cost of kilobytes, not of what they declare.
func TestPthZipDeclaredSizes(t *testing.T) {
	const gib = 1 << 30
	pkl := func(numel int) []byte {
		return stateDictPickle(tensorSpec{name: "w", storage: "FloatStorage", key: "0", numel: numel, size: []int{numel}, stride: []int{1}})
	}
	small := pkl(4)
	zeros := make([]byte, 1<<20)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"storage of 4 GiB declared, 64 bytes held": {rawZip(t,
			deflated(t, "archive/data.pkl", pkl(gib), uint64(len(pkl(gib)))),
			deflated(t, "archive/data/0", zeros[:64], 4*gib)), "data/0"},
		"data.pkl declaring 1 TiB": {rawZip(t,
			deflated(t, "archive/data.pkl", small, 1<<40),
			deflated(t, "archive/data/0", zeros[:16], 16)), "more than the 67108864 allowed"},
		"storage declaring 1 TiB for a 16-byte tensor": {rawZip(t,
			deflated(t, "archive/data.pkl", small, uint64(len(small))),
			deflated(t, "archive/data/0", zeros[:16], 1<<40)), "holds 1099511627776 bytes, want 16"},
		"16 bytes declared, 1 MiB inflated": {rawZip(t,
			deflated(t, "archive/data.pkl", small, uint64(len(small))),
			rawRecord{"archive/data/0", deflated(t, "", zeros, 0).comp, 16, crc32.ChecksumIEEE(zeros[:16])}), "data/0"},
		"1 MiB declared and inflated, 16 bytes wanted": {rawZip(t,
			deflated(t, "archive/data.pkl", small, uint64(len(small))),
			deflated(t, "archive/data/0", zeros, 1<<20)), "holds 1048576 bytes, want 16"},
	}
	for name, c := range cases {
		before := allocated()
		_, err := decodeBytes(c.data)
		got := allocated() - before
		t.Logf("%s: %d bytes allocated: %v", name, got, err)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
		if got > 512<<10 {
			t.Errorf("%s: allocated %d bytes before refusing (archive of %d bytes)", name, got, len(c.data))
		}
	}
}
