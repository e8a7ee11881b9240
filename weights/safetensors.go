// Package weights reads and writes named float32 tensors: the safetensors format
// (Hugging Face), with F32, F16 and BF16 storage on input and F32 on output; and reads
// PyTorch archives (torch.save state dicts and TorchScript traces: ReadPth,
// ReadTorchScript, and Load, which tells the formats apart by content) through gopickle
// without executing anything from the archive.
//
// A hand-written reader is used rather than a library: the one Go library on offer
// rejects scalar (shape []) tensors and needs the whole file in one buffer; this one
// validates the header against the file size before allocating anything.
package weights

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/ideal-fsad/ideal/internal/atomicfile"
	"github.com/ideal-fsad/ideal/tensor"
)

// MaxHeaderBytes bounds the JSON header of a safetensors file.
const MaxHeaderBytes = 100 << 20

// File is the content of a safetensors file: tensors by name and the free-form metadata.
type File struct {
	Tensors  map[string]*tensor.Dense
	Metadata map[string]string
}

type entry struct {
	DType   string   `json:"dtype"`
	Shape   []int    `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// ReadSafetensors reads a whole safetensors file, converting every tensor to float32.
func ReadSafetensors(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	out, err := DecodeSafetensors(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("weights: %s: %w", path, err)
	}
	return out, nil
}

// DecodeSafetensors decodes a safetensors stream of the given total size. Every size
// and offset in the header is checked against size before any tensor is allocated.
func DecodeSafetensors(r io.Reader, size int64) (*File, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, errors.New("not a safetensors file: shorter than its 8-byte header length")
	}
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, fmt.Errorf("reading header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderBytes || int64(n) > size-8 {
		return nil, fmt.Errorf("not a safetensors file: header length %d does not fit a %d-byte file", n, size)
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return nil, fmt.Errorf("not a safetensors file: header is not a JSON object: %w", err)
	}
	out := &File{Tensors: map[string]*tensor.Dense{}, Metadata: map[string]string{}}
	type named struct {
		name string
		e    entry
	}
	var list []named
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &out.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var e entry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("tensor %q: bad header entry: %w", name, err)
		}
		list = append(list, named{name, e})
	}
	sort.Slice(list, func(i, j int) bool { // by start, empty tensors before a non-empty one at the same byte
		a, b := list[i].e.Offsets, list[j].e.Offsets
		return a[0] < b[0] || (a[0] == b[0] && a[1] < b[1])
	})
	dataSize := size - 8 - int64(n)
	var pos int64
	for _, t := range list {
		e := t.e
		width, ok := map[string]int64{"F32": 4, "F16": 2, "BF16": 2, "F64": 8}[e.DType]
		if !ok {
			return nil, fmt.Errorf("tensor %q: unsupported dtype %q (want F32, F16, BF16 or F64)", t.name, e.DType)
		}
		numel := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && numel > math.MaxInt32/int64(d)) {
				return nil, fmt.Errorf("tensor %q: shape %v is negative or too large", t.name, e.Shape)
			}
			numel *= int64(d)
		}
		if e.Offsets[0] != pos || e.Offsets[1]-e.Offsets[0] != numel*width || e.Offsets[1] > dataSize {
			return nil, fmt.Errorf("tensor %q: data offsets %v do not match shape %v of %s at byte %d of %d",
				t.name, e.Offsets, e.Shape, e.DType, pos, dataSize)
		}
		pos = e.Offsets[1]
		buf := make([]byte, numel*width)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", t.name, err)
		}
		out.Tensors[t.name] = &tensor.Dense{Shape: append([]int{}, e.Shape...), Data: decode(buf, e.DType, int(numel))}
	}
	if pos != dataSize {
		return nil, fmt.Errorf("%d bytes of data after the last tensor", dataSize-pos)
	}
	return out, nil
}

func decode(b []byte, dtype string, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		switch dtype {
		case "F32":
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		case "F64":
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		case "BF16":
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		case "F16":
			out[i] = HalfToFloat(binary.LittleEndian.Uint16(b[2*i:]))
		}
	}
	return out
}

// HalfToFloat converts an IEEE 754 binary16 value to float32 exactly.
func HalfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: value = man * 2^-24
		v := float32(man) / (1 << 24)
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
}

// WriteSafetensors writes tensors as F32 with metadata, atomically: the data goes to
// a temporary file in the same folder that is renamed over path only when complete.
func WriteSafetensors(path string, tensors map[string]*tensor.Dense, metadata map[string]string) error {
	names := make([]string, 0, len(tensors))
	for k := range tensors {
		names = append(names, k)
	}
	sort.Strings(names)
	hdr := map[string]any{}
	if len(metadata) > 0 {
		hdr["__metadata__"] = metadata
	}
	var off int64
	for _, k := range names {
		t := tensors[k]
		if tensor.Numel(t.Shape) != len(t.Data) {
			return fmt.Errorf("weights: tensor %q: %d values for shape %v", k, len(t.Data), t.Shape)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		end := off + 4*int64(len(t.Data))
		hdr[k] = entry{DType: "F32", Shape: shape, Offsets: [2]int64{off, end}}
		off = end
	}
	js, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("weights: %w", err)
	}
	for len(js)%8 != 0 { // keep the data 8-byte aligned, as the reference writer does
		js = append(js, ' ')
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		var lb [8]byte
		binary.LittleEndian.PutUint64(lb[:], uint64(len(js)))
		if _, err := w.Write(lb[:]); err != nil {
			return err
		}
		if _, err := w.Write(js); err != nil {
			return err
		}
		buf := make([]byte, 0, 1<<16)
		for _, k := range names {
			for _, v := range tensors[k].Data {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
				if len(buf) >= 1<<16-4 {
					if _, err := w.Write(buf); err != nil {
						return err
					}
					buf = buf[:0]
				}
			}
		}
		_, err := w.Write(buf)
		return err
	})
}
