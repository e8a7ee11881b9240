package weights

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// This file builds small PyTorch archives by hand, opcode by opcode, the way torch.save
// (pickle protocol 2) and torch.jit.save write them, for the tests and the fuzz seeds.

type pickler struct{ bytes.Buffer }

func (p *pickler) op(b ...byte) *pickler { p.Write(b); return p }

func (p *pickler) str(s string) *pickler {
	p.WriteByte('X')
	p.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
	p.WriteString(s)
	return p
}

func (p *pickler) int(n int) *pickler {
	p.WriteByte('J')
	p.Write(binary.LittleEndian.AppendUint32(nil, uint32(int32(n))))
	return p
}

func (p *pickler) global(module, name string) *pickler {
	p.WriteString("c" + module + "\n" + name + "\n")
	return p
}

func (p *pickler) ints(v []int) *pickler {
	p.op('(')
	for _, n := range v {
		p.int(n)
	}
	return p.op('t')
}

func (p *pickler) emptyOrderedDict() *pickler {
	return p.global("collections", "OrderedDict").op(')', 'R')
}

// tensorSpec is one _rebuild_tensor_v2 call, optionally wrapped in _rebuild_parameter.
type tensorSpec struct {
	name, storage, key string
	numel, offset      int
	size, stride       []int
	param              bool
}

func (p *pickler) tensor(s tensorSpec) *pickler {
	if s.param {
		p.global("torch._utils", "_rebuild_parameter").op('(')
	}
	p.global("torch._utils", "_rebuild_tensor_v2").op('(')
	p.op('(').str("storage").global("torch", s.storage).str(s.key).str("cpu").int(s.numel).op('t', 'Q')
	p.int(s.offset).ints(s.size).ints(s.stride).op(0x89).emptyOrderedDict()
	p.op('t', 'R')
	if s.param {
		p.op(0x88).emptyOrderedDict().op('t', 'R')
	}
	return p
}

// stateDictPickle pickles an OrderedDict of the given tensors.
func stateDictPickle(specs ...tensorSpec) []byte {
	p := &pickler{}
	p.op(0x80, 2).emptyOrderedDict().op('(')
	for _, s := range specs {
		p.str(s.name).tensor(s)
	}
	p.op('u', '.')
	return p.Bytes()
}

// zipArchive stores records (names relative to root) uncompressed, as torch does.
func zipArchive(t testing.TB, root string, records map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	names := make([]string, 0, len(records))
	for n := range records {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f, err := w.CreateHeader(&zip.FileHeader{Name: root + "/" + n, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(records[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func float32Bytes(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func iota32(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)
	}
	return v
}

// stridedArchive is a state dict whose tensors are views of one 12-float storage
// holding 0…11: a transposed view with an offset, the whole storage as a Parameter,
// a broadcast (stride 0) view, a scalar and an empty tensor.
func stridedArchive(t testing.TB, root string) []byte {
	pkl := stateDictPickle(
		tensorSpec{name: "t", storage: "FloatStorage", key: "0", numel: 12, offset: 1, size: []int{3, 2}, stride: []int{1, 3}},
		tensorSpec{name: "all", storage: "FloatStorage", key: "0", numel: 12, size: []int{12}, stride: []int{1}, param: true},
		tensorSpec{name: "bcast", storage: "FloatStorage", key: "0", numel: 12, offset: 9, size: []int{2, 3}, stride: []int{0, 1}},
		tensorSpec{name: "scalar", storage: "FloatStorage", key: "0", numel: 12, offset: 5, size: []int{}, stride: []int{}},
		tensorSpec{name: "empty", storage: "FloatStorage", key: "0", numel: 12, size: []int{0, 3}, stride: []int{3, 1}},
	)
	return zipArchive(t, root, map[string][]byte{"data.pkl": pkl, "data/0": float32Bytes(iota32(12)...), "version": []byte("3\n")})
}

// torchScriptArchive is a two-level module tree as torch.jit.save writes it: objects of
// __torch__ classes built with NEWOBJ and given their attribute dict with BUILD.
func torchScriptArchive(t testing.TB) []byte {
	p := &pickler{}
	p.op(0x80, 2).global("__torch__", "Traced").op(')', 0x81, '}', '(')
	p.str("training").op(0x89).str("_is_full_backward_hook").op('N')
	p.str("inner").global("__torch__.models.model", "IDEAL").op(')', 0x81, '}', '(')
	p.str("training").op(0x89)
	p.str("w").tensor(tensorSpec{storage: "FloatStorage", key: "0", numel: 6, size: []int{2, 3}, stride: []int{3, 1}})
	p.str("lin").global("__torch__.torch.nn.modules.linear", "Linear").op(')', 0x81, '}', '(')
	p.str("bias").tensor(tensorSpec{storage: "FloatStorage", key: "1", numel: 2, size: []int{2}, stride: []int{1}})
	p.str("training").op(0x89)
	p.op('u', 'b') // end of lin
	p.op('u', 'b') // end of inner
	p.op('u', 'b', '.')
	constants := (&pickler{}).op(0x80, 2, ')', '.').Bytes()
	return zipArchive(t, "trace_small", map[string][]byte{
		"data.pkl":          p.Bytes(),
		"constants.pkl":     constants,
		"data/0":            float32Bytes(1, 2, 3, 4, 5, 6),
		"data/1":            float32Bytes(-1, -2),
		"code/__torch__.py": []byte("this is never read\n"),
		".data/version":     []byte("10\n"),
	})
}

// officialPath is ../shared/fixtures/official-checkpoints next to the repository root;
// it is absent from a user's clone.
func officialPath() (string, error) {
	dir, err := filepath.Abs(".")
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the test folder")
		}
		dir = parent
	}
	off := filepath.Join(dir, "..", "shared", "fixtures", "official-checkpoints")
	if _, err := os.Stat(filepath.Join(off, "README.json")); err != nil {
		return off, err
	}
	return off, nil
}

// officialDir returns officialPath or skips the test when the fixtures are absent.
func officialDir(t *testing.T) string {
	t.Helper()
	off, err := officialPath()
	if err != nil {
		t.Skipf("official checkpoints not found at %s (they live outside the repository, in ../shared): %v", off, err)
	}
	return off
}
