package weights

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/nlpodyssey/gopickle/types"

	"github.com/ideal-fsad/ideal/tensor"
)

// MaxBroadcastElements bounds a tensor that holds more elements than its storage (a
// view with zero strides, as torch.expand makes): such a tensor is expanded on reading.
const MaxBroadcastElements = 1 << 24

// maxViewFactor bounds the elements of all tensors together by this multiple of the
// elements of the storages read (plus MaxBroadcastElements): tied weights and views
// share storages, but a small archive must not expand into a huge set of copies.
const maxViewFactor = 8

// maxTreeNodes bounds the values visited when flattening a pickled tree, so that a
// pickle that shares sub-trees many times over cannot make the walk explode.
const maxTreeNodes = 1 << 20

// maxTreeDepth bounds the nesting of dicts and modules that is followed.
const maxTreeDepth = 64

// ReadPth reads a PyTorch archive written by torch.save (the zip format of PyTorch 1.6 and
// later) that holds a state dict: a dict or OrderedDict from names to tensors or
// Parameters. Nested dicts (a checkpoint {"model": state_dict, "epoch": 3}) are flattened
// with dotted names and values that are not tensors are skipped. Every tensor is made
// contiguous float32: float64, float16 and bfloat16 are converted, and so are integer and
// bool tensors (buffers such as a BatchNorm's num_batches_tracked) when float32 holds
// their values exactly; otherwise, and for other storage types, the error names them.
func ReadPth(path string) (*File, error) { return readArchiveFile(path, DecodePth) }

// DecodePth decodes a torch.save archive of the given size; see ReadPth.
func DecodePth(r io.ReaderAt, size int64) (*File, error) {
	a, err := openTorchArchive(r, size)
	if err != nil {
		return nil, err
	}
	if a.isTorchScript() {
		return nil, errors.New("this is a TorchScript archive (torch.jit.save), not a torch.save state dict: read it with ReadTorchScript or Load")
	}
	return a.stateDict()
}

// stateDict reads the archive as a torch.save state dict.
func (a *torchArchive) stateDict() (*File, error) {
	root, err := a.unpickle("data.pkl", false)
	if err != nil {
		return nil, err
	}
	if !isDict(root) {
		return nil, fmt.Errorf("data.pkl holds %s, not a dict of tensors (a state dict)", describe(root))
	}
	w := &treeWalk{tensors: map[string]*torchTensor{}}
	if err := w.dict(root, "", 0); err != nil {
		return nil, err
	}
	return a.file(w.tensors, "pth")
}

// treeWalk collects the tensors of a pickled tree under flattened dotted names.
type treeWalk struct {
	tensors map[string]*torchTensor
	visited int
}

func isDict(v any) bool {
	switch v.(type) {
	case *types.Dict, *types.OrderedDict:
		return true
	}
	return false
}

// dictEntries lists the entries of a pickled dict in their stored order.
func dictEntries(v any) []types.DictEntry {
	switch d := v.(type) {
	case *types.Dict:
		return *d
	case *types.OrderedDict:
		out := make([]types.DictEntry, 0, d.Len())
		for e := d.List.Front(); e != nil; e = e.Next() {
			oe := e.Value.(*types.OrderedDictEntry)
			out = append(out, types.DictEntry{Key: oe.Key, Value: oe.Value})
		}
		return out
	}
	return nil
}

// dict flattens a state dict: tensors are kept, dicts are entered, other values skipped.
func (w *treeWalk) dict(d any, prefix string, depth int) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("dicts nested more than %d deep at %q", maxTreeDepth, clip(prefix))
	}
	for _, e := range dictEntries(d) {
		if w.visited++; w.visited > maxTreeNodes {
			return fmt.Errorf("more than %d values in the pickled tree", maxTreeNodes)
		}
		var key string
		switch k := e.Key.(type) {
		case string:
			key = k
		case int:
			key = strconv.Itoa(k)
		default:
			if _, ok := e.Value.(*torchTensor); ok || isDict(e.Value) {
				return fmt.Errorf("dict key %s under %q is not a string", describe(e.Key), clip(prefix))
			}
			continue
		}
		switch v := e.Value.(type) {
		case *torchTensor:
			if err := w.add(prefix+key, v); err != nil {
				return err
			}
		case *types.Dict, *types.OrderedDict:
			if err := w.dict(v, prefix+key+".", depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *treeWalk) add(name string, t *torchTensor) error {
	if _, dup := w.tensors[name]; dup {
		return fmt.Errorf("tensor name %q appears twice", name)
	}
	w.tensors[name] = t
	return nil
}

// file reads the storages of the collected tensors and builds the File.
func (a *torchArchive) file(ts map[string]*torchTensor, format string) (*File, error) {
	if len(ts) == 0 {
		return nil, errors.New("the archive holds no tensors")
	}
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	sort.Strings(names)
	out := &File{Tensors: make(map[string]*tensor.Dense, len(ts)), Metadata: map[string]string{"format": format}}
	r := &storageReader{cache: map[string][]byte{}}
	for _, name := range names {
		d, err := a.materialize(ts[name], r)
		if err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		out.Tensors[name] = d
	}
	return out, nil
}

// storageReader holds the storages read so far and counts the elements handed out.
type storageReader struct {
	cache          map[string][]byte
	read, returned int64 // elements of the storages read, of the tensors made
}

// materialize checks a strided view against its storage, reads the storage record
// (once per key) and copies the view out as a contiguous float32 tensor.
func (a *torchArchive) materialize(t *torchTensor, r *storageReader) (*tensor.Dense, error) {
	st := t.storage
	elem, ok := storageElements[st.typ.name]
	if !ok {
		return nil, fmt.Errorf("storage type torch.%s is not supported (floating-point, integer and bool storages are read)", st.typ.name)
	}
	numel, last, err := t.extent()
	if err != nil {
		return nil, err
	}
	if numel > 0 && last >= st.numel {
		return nil, fmt.Errorf("view (offset %d, size %v, stride %v) reaches element %d of a %d-element storage",
			t.offset, t.size, t.stride, last, st.numel)
	}
	if numel > st.numel && numel > MaxBroadcastElements {
		return nil, fmt.Errorf("view of %d elements over a %d-element storage is larger than the %d allowed", numel, st.numel, MaxBroadcastElements)
	}
	b, ok := r.cache[st.key]
	if !ok {
		rec, found := a.records[a.root+"data/"+st.key]
		if !found {
			return nil, fmt.Errorf("storage record %sdata/%s is missing", a.root, st.key)
		}
		width := int64(elem.width)
		if st.numel > math.MaxInt64/width {
			return nil, fmt.Errorf("storage of %d elements is too large", st.numel)
		}
		if b, err = a.readRecord(rec, st.numel*width); err != nil {
			return nil, err
		}
		r.cache[st.key] = b
		r.read += st.numel
	}
	if r.returned += numel; r.returned > maxViewFactor*r.read+MaxBroadcastElements {
		return nil, fmt.Errorf("the tensors so far hold %d elements, more than %d times the %d of their storages", r.returned, maxViewFactor, r.read)
	}
	shape := make([]int, len(t.size))
	for i, s := range t.size {
		shape[i] = int(s)
	}
	out := make([]float32, numel)
	if numel == 0 {
		return &tensor.Dense{Shape: shape, Data: out}, nil
	}
	// Walk the view in row-major order with an odometer over the indices.
	idx := make([]int64, len(t.size))
	pos := t.offset
	for i := range out {
		if elem.exact != nil && !elem.exact(b, pos) {
			return nil, fmt.Errorf("torch.%s value %v at element %d cannot be held exactly by float32", st.typ.name, elem.get(b, pos), i)
		}
		out[i] = elem.get(b, pos)
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			pos += t.stride[d]
			if idx[d] < t.size[d] {
				break
			}
			pos -= t.stride[d] * t.size[d]
			idx[d] = 0
		}
	}
	return &tensor.Dense{Shape: shape, Data: out}, nil
}

// extent returns the number of elements of the view and the largest storage index it
// touches, refusing sizes whose products overflow.
func (t *torchTensor) extent() (numel, last int64, err error) {
	numel = 1
	for _, s := range t.size {
		if s == 0 {
			return 0, 0, nil
		}
	}
	last = t.offset
	for i, s := range t.size {
		if numel > math.MaxInt32/s {
			return 0, 0, fmt.Errorf("size %v is too large", t.size)
		}
		numel *= s
		if st := t.stride[i]; st > 0 {
			if s-1 > (math.MaxInt64-last)/st {
				return 0, 0, fmt.Errorf("stride %v overflows", t.stride)
			}
			last += (s - 1) * st
		}
	}
	return numel, last, nil
}

// storageElements lists the storage types that are read: the size of an element, how to
// read element i of a little-endian storage as float32, and for the wide integer types
// whether that is exact (|v| ≤ 2²⁴); an inexact integer is an error, never rounded.
var storageElements = map[string]struct {
	width int
	get   func(b []byte, i int64) float32
	exact func(b []byte, i int64) bool
}{
	"FloatStorage": {4, func(b []byte, i int64) float32 {
		return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}, nil},
	"DoubleStorage": {8, func(b []byte, i int64) float32 {
		return float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
	}, nil},
	"HalfStorage": {2, func(b []byte, i int64) float32 {
		return HalfToFloat(binary.LittleEndian.Uint16(b[2*i:]))
	}, nil},
	"BFloat16Storage": {2, func(b []byte, i int64) float32 {
		return math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
	}, nil},
	"LongStorage": {8, func(b []byte, i int64) float32 {
		return float32(int64(binary.LittleEndian.Uint64(b[8*i:])))
	}, func(b []byte, i int64) bool {
		v := int64(binary.LittleEndian.Uint64(b[8*i:]))
		return -1<<24 <= v && v <= 1<<24
	}},
	"IntStorage": {4, func(b []byte, i int64) float32 {
		return float32(int32(binary.LittleEndian.Uint32(b[4*i:])))
	}, func(b []byte, i int64) bool {
		v := int32(binary.LittleEndian.Uint32(b[4*i:]))
		return -1<<24 <= v && v <= 1<<24
	}},
	"ShortStorage": {2, func(b []byte, i int64) float32 { return float32(int16(binary.LittleEndian.Uint16(b[2*i:]))) }, nil},
	"CharStorage":  {1, func(b []byte, i int64) float32 { return float32(int8(b[i])) }, nil},
	"ByteStorage":  {1, func(b []byte, i int64) float32 { return float32(b[i]) }, nil},
	"BoolStorage":  {1, func(b []byte, i int64) float32 { return float32(min(b[i], 1)) }, nil},
}
