package weights

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/ideal-fsad/ideal/tensor"
)

// Load reads a weights file of any supported kind, telling them apart by content, not
// by name: safetensors, a torch.save state dict (.pth/.pt/.bin zip archive) or a
// TorchScript archive (torch.jit.save). File.Metadata["format"] says which it was for the
// PyTorch kinds ("pth" or "torchscript").
func Load(path string) (*File, error) { return readArchiveFile(path, Decode) }

// legacyTorchMagic starts a torch.save file of PyTorch before 1.6 (a pickled magic number).
var legacyTorchMagic = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8}

// Decode reads a weights stream of the given size whatever its kind; see Load.
func Decode(r io.ReaderAt, size int64) (*File, error) {
	head := make([]byte, min(size, 16))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading the first bytes: %w", err)
	}
	switch {
	case size == 0:
		return nil, errors.New("empty file")
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		a, err := openTorchArchive(r, size)
		if err != nil {
			return nil, err
		}
		if a.isTorchScript() {
			return a.torchScript()
		}
		return a.stateDict()
	case bytes.HasPrefix(head, legacyTorchMagic):
		return nil, errors.New("legacy PyTorch file (saved before PyTorch 1.6 or with _use_new_zipfile_serialization=False) is not supported: re-save it with torch.save in a recent PyTorch")
	case len(head) >= 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) <= uint64(size-8):
		return DecodeSafetensors(io.NewSectionReader(r, 0, size), size)
	}
	return nil, fmt.Errorf("unknown format: neither safetensors nor a PyTorch zip archive (first bytes %q)", head)
}

// Names returns the tensor names in sorted order.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for n := range f.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SubTree returns the tensors whose names start with prefix, with the prefix removed
// ("inner.vision_encoder." turns "inner.vision_encoder.norm.weight" into "norm.weight").
// The tensors are shared, not copied; the metadata is copied.
func (f *File) SubTree(prefix string) *File {
	out := &File{Tensors: map[string]*tensor.Dense{}, Metadata: make(map[string]string, len(f.Metadata))}
	for k, v := range f.Metadata {
		out.Metadata[k] = v
	}
	for n, t := range f.Tensors {
		if rest, ok := strings.CutPrefix(n, prefix); ok && rest != "" {
			out.Tensors[rest] = t
		}
	}
	return out
}

// FindPrefix finds where a sub-model is nested: it returns the prefix p such that
// tensor names start with p+marker, marker starting a dotted component. For marker
// "vision_encoder." and the name "inner.vision_encoder.blocks.0.attn.qkv.weight" it
// returns "inner."; when names start with marker itself it returns "". It is an error
// when no name holds marker, or when names hold it under different prefixes.
func (f *File) FindPrefix(marker string) (string, error) {
	if marker == "" {
		return "", errors.New("weights: FindPrefix needs a non-empty marker")
	}
	found := map[string]bool{}
	for n := range f.Tensors {
		for i := 0; i+len(marker) <= len(n); {
			j := strings.Index(n[i:], marker)
			if j < 0 {
				break
			}
			if p := n[:i+j]; p == "" || strings.HasSuffix(p, ".") {
				found[p] = true
				break
			}
			i += j + 1
		}
	}
	switch len(found) {
	case 1:
		for p := range found {
			return p, nil
		}
	case 0:
		names := f.Names()
		if len(names) > 5 {
			names = append(names[:5], "…")
		}
		return "", fmt.Errorf("weights: no tensor name holds %q (names: %s)", marker, strings.Join(names, ", "))
	}
	prefixes := make([]string, 0, len(found))
	for p := range found {
		prefixes = append(prefixes, fmt.Sprintf("%q", p))
	}
	sort.Strings(prefixes)
	return "", fmt.Errorf("weights: %q appears under several prefixes: %s", marker, strings.Join(prefixes, ", "))
}
