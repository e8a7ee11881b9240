package weights

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// MaxPickleBytes bounds the pickled object tree (data.pkl) of a PyTorch archive. Real
// ones are kilobytes: the tensor data lives in separate records.
const MaxPickleBytes = 64 << 20

// torchArchive is the zip container written by torch.save (PyTorch ≥ 1.6) and by
// torch.jit.save: every record sits under one top folder (its name is free: "archive"
// for torch.save, the file's base name for older savers), with data.pkl holding the
// pickled objects and data/<key> the raw little-endian bytes of each storage.
type torchArchive struct {
	size    int64
	root    string // top folder with its trailing slash, e.g. "archive/"
	records map[string]*zip.File
}

// openTorchArchive reads the zip directory and finds the top folder holding data.pkl.
func openTorchArchive(r io.ReaderAt, size int64) (*torchArchive, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a readable zip archive (truncated or corrupt?): %w", err)
	}
	a := &torchArchive{size: size, records: make(map[string]*zip.File, len(zr.File))}
	var roots []string
	for _, f := range zr.File {
		a.records[f.Name] = f
		if dir, base := path.Split(f.Name); base == "data.pkl" && strings.Count(dir, "/") <= 1 {
			roots = append(roots, dir)
		}
	}
	switch len(roots) {
	case 0:
		return nil, errors.New("zip archive has no data.pkl record: not a PyTorch archive")
	case 1:
		a.root = roots[0]
	default:
		sort.Strings(roots)
		return nil, fmt.Errorf("zip archive has several data.pkl records (%s): not a PyTorch archive", strings.Join(roots, ", "))
	}
	if b, err := a.readSmall("byteorder", 16); err == nil && strings.TrimSpace(string(b)) != "little" {
		return nil, fmt.Errorf("archive byte order %q is not supported (only little-endian)", strings.TrimSpace(string(b)))
	}
	return a, nil
}

// has reports whether the archive holds the record root+rel.
func (a *torchArchive) has(rel string) bool {
	_, ok := a.records[a.root+rel]
	return ok
}

// isTorchScript reports whether the archive was written by torch.jit.save: those always
// carry constants.pkl beside data.pkl.
func (a *torchArchive) isTorchScript() bool { return a.has("constants.pkl") }

// readSmall reads a whole record of at most limit bytes.
func (a *torchArchive) readSmall(rel string, limit int64) ([]byte, error) {
	f, ok := a.records[a.root+rel]
	if !ok {
		return nil, fmt.Errorf("record %s%s is missing", a.root, rel)
	}
	if f.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("record %s is %d bytes, more than the %d allowed", f.Name, f.UncompressedSize64, limit)
	}
	return a.readRecord(f, int64(f.UncompressedSize64))
}

// readRecord reads exactly want bytes from a record whose declared size is want, and
// checks its CRC. A record that declares more than the archive's size (possible only when
// compressed) is read with memory growing as the data actually arrives, so a forged size
// cannot force a large allocation.
func (a *torchArchive) readRecord(f *zip.File, want int64) ([]byte, error) {
	if f.UncompressedSize64 != uint64(want) {
		return nil, fmt.Errorf("record %s holds %d bytes, want %d", f.Name, f.UncompressedSize64, want)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", f.Name, err)
	}
	defer rc.Close()
	var b []byte
	if want <= a.size {
		b = make([]byte, want)
		_, err = io.ReadFull(rc, b)
	} else {
		b, err = io.ReadAll(io.LimitReader(rc, want))
		if err == nil && int64(len(b)) < want {
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil {
		return nil, fmt.Errorf("record %s (%d bytes): %w", f.Name, want, err)
	}
	// Reading to the end makes archive/zip verify the size and checksum of the record.
	if _, err := rc.Read(make([]byte, 1)); err != io.EOF {
		if err == nil {
			err = errors.New("more data than declared")
		}
		return nil, fmt.Errorf("record %s: %w", f.Name, err)
	}
	return b, nil
}

// readArchiveFile opens path and hands it to decode; errors get the package prefix and path.
func readArchiveFile(path string, decode func(io.ReaderAt, int64) (*File, error)) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("weights: %s is a directory", path)
	}
	out, err := decode(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("weights: %s: %w", path, err)
	}
	return out, nil
}
