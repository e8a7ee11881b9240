package weights

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/big"
	"strings"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// This file turns a PyTorch pickle into plain Go values with github.com/nlpodyssey/gopickle.
// Nothing from the archive is executed: gopickle only builds values, and the class lookup
// below knows a closed list of torch functions and storage types (plus, for TorchScript,
// inert "__torch__.*" module objects that only record their attributes). Any other class
// is an error naming it.

// storageType is a torch.<Name>Storage class named in a pickle.
type storageType struct {
	name string // e.g. "FloatStorage"
}

// storageRef is a storage as the pickle describes it: its record key and element count.
// The bytes are read later, once the whole tree is known to be valid.
type storageRef struct {
	typ   *storageType
	key   string
	numel int64
}

// torchTensor is a tensor as rebuilt from the pickle: a strided view of a storage.
type torchTensor struct {
	storage *storageRef
	offset  int64
	size    []int64
	stride  []int64
}

// moduleObject is an instance of a TorchScript class ("__torch__.…"); its state is the
// dict of attributes (parameters, buffers, sub-modules and plain values).
type moduleObject struct {
	class string
	state any
}

type moduleClass struct{ name string }

func (c *moduleClass) PyNew(args ...any) (any, error) {
	if len(args) != 0 {
		return nil, fmt.Errorf("class %s built with %d arguments, want none", c.name, len(args))
	}
	return &moduleObject{class: c.name}, nil
}

func (m *moduleObject) PySetState(state any) error {
	if m.state != nil {
		return fmt.Errorf("state of %s set twice", m.class)
	}
	m.state = state
	return nil
}

// rebuildTensor is torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
// requires_grad, backward_hooks[, metadata]).
type rebuildTensor struct{}

func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) != 6 && len(args) != 7 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 called with %d arguments, want 6 or 7", len(args))
	}
	st, ok := args[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_tensor_v2: first argument is %s, not a storage", describe(args[0]))
	}
	offset, err := pickleInt(args[1], "storage offset")
	if err != nil {
		return nil, err
	}
	size, err := intTuple(args[2], "size")
	if err != nil {
		return nil, err
	}
	stride, err := intTuple(args[3], "stride")
	if err != nil {
		return nil, err
	}
	if len(size) != len(stride) {
		return nil, fmt.Errorf("tensor has %d sizes but %d strides", len(size), len(stride))
	}
	return &torchTensor{storage: st, offset: offset, size: size, stride: stride}, nil
}

// rebuildParameter is torch._utils._rebuild_parameter(data, requires_grad, backward_hooks)
// and _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state): the
// Parameter wrapper is dropped, its tensor kept.
type rebuildParameter struct{ nargs int }

func (r rebuildParameter) Call(args ...any) (any, error) {
	if len(args) != r.nargs {
		return nil, fmt.Errorf("_rebuild_parameter called with %d arguments, want %d", len(args), r.nargs)
	}
	t, ok := args[0].(*torchTensor)
	if !ok {
		return nil, fmt.Errorf("_rebuild_parameter: first argument is %s, not a tensor", describe(args[0]))
	}
	return t, nil
}

// findClass resolves a pickle GLOBAL. gopickle itself handles collections.OrderedDict
// (and two inert helpers of old pickles) before calling it.
func findClass(modules bool) func(module, name string) (any, error) {
	return func(module, name string) (any, error) {
		switch {
		case module == "torch._utils" && name == "_rebuild_tensor_v2":
			return rebuildTensor{}, nil
		case module == "torch._utils" && name == "_rebuild_parameter":
			return rebuildParameter{nargs: 3}, nil
		case module == "torch._utils" && name == "_rebuild_parameter_with_state":
			return rebuildParameter{nargs: 4}, nil
		case module == "torch" && strings.HasSuffix(name, "Storage"):
			return &storageType{name: name}, nil
		case modules && (module == "__torch__" || strings.HasPrefix(module, "__torch__.")):
			return &moduleClass{name: module + "." + name}, nil
		}
		hint := ""
		if !modules && !strings.HasPrefix(module, "torch") {
			hint = " (the archive pickles Python objects of its own; save a state_dict() instead)"
		}
		return nil, fmt.Errorf("pickle class %s.%s is not supported%s", module, name, hint)
	}
}

// unpickle decodes the record rel (data.pkl) of the archive. modules allows the inert
// TorchScript classes. Storages are resolved to references, not read.
func (a *torchArchive) unpickle(rel string, modules bool) (v any, err error) {
	data, err := a.readSmall(rel, MaxPickleBytes)
	if err != nil {
		return nil, err
	}
	if err := scanPickle(data); err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	storages := map[string]*storageRef{}
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = findClass(modules)
	u.PersistentLoad = func(id any) (any, error) { return persistentStorage(id, storages) }
	// scanPickle has checked every opcode and length; what remains are stack shapes that
	// gopickle may not check (a DUP on an empty stack, an unhashable dict key). Those are
	// malformed input, reported as errors rather than crashes.
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%s: malformed pickle: %v", rel, r)
		}
	}()
	v, err = u.Load()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	return v, nil
}

// persistentStorage resolves a persistent id ('storage', StorageType, key, location, numel).
func persistentStorage(id any, seen map[string]*storageRef) (any, error) {
	t, ok := id.(*types.Tuple)
	if !ok || t.Len() != 5 {
		return nil, fmt.Errorf("persistent id %s is not a 5-tuple ('storage', type, key, location, size)", describe(id))
	}
	if kind, _ := t.Get(0).(string); kind != "storage" {
		return nil, fmt.Errorf("persistent id of kind %s is not supported (want 'storage')", describe(t.Get(0)))
	}
	typ, ok := t.Get(1).(*storageType)
	if !ok {
		return nil, fmt.Errorf("storage type is %s, not a torch storage class", describe(t.Get(1)))
	}
	key, ok := t.Get(2).(string)
	if !ok || key == "" || strings.ContainsAny(key, "/\\") || key == "." || key == ".." {
		return nil, fmt.Errorf("storage key %s is not a plain record name", describe(t.Get(2)))
	}
	numel, err := pickleInt(t.Get(4), "storage size")
	if err != nil {
		return nil, err
	}
	if s, ok := seen[key]; ok {
		if s.typ.name != typ.name || s.numel != numel {
			return nil, fmt.Errorf("storage %q described twice differently", key)
		}
		return s, nil
	}
	s := &storageRef{typ: typ, key: key, numel: numel}
	seen[key] = s
	return s, nil
}

// pickleInt reads a non-negative integer.
func pickleInt(v any, what string) (int64, error) {
	switch n := v.(type) {
	case int:
		if n >= 0 {
			return int64(n), nil
		}
	case *big.Int:
		if n.Sign() >= 0 && n.IsInt64() {
			return n.Int64(), nil
		}
	default:
		return 0, fmt.Errorf("%s is %s, not an integer", what, describe(v))
	}
	return 0, fmt.Errorf("%s %v is negative or too large", what, v)
}

func intTuple(v any, what string) ([]int64, error) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, fmt.Errorf("tensor %s is %s, not a tuple", what, describe(v))
	}
	out := make([]int64, t.Len())
	for i := range out {
		n, err := pickleInt(t.Get(i), "tensor "+what)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

// clip shortens a name for an error message.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// describe names a decoded pickle value for an error message without dumping it.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return fmt.Sprintf("string %q", clip(x))
	case int, bool, float64:
		return fmt.Sprintf("%T %v", x, x)
	case *moduleObject:
		return "object " + x.class
	case *storageType:
		return "class torch." + x.name
	case *torchTensor:
		return "a tensor"
	}
	return fmt.Sprintf("a %T", v)
}

// maxTextNumber bounds the text arguments of the protocol 0 opcodes that hold numbers or
// names: a long decimal integer would take quadratic time to parse.
const maxTextNumber = 1024

// scanPickle walks the opcodes of a pickle without building anything and checks that
// each is known and that every length it carries fits in the bytes that remain, so that
// the unpickler never allocates more than the pickle holds. Opcodes that need outside
// help (the extension registry, out-of-band buffers) are refused.
func scanPickle(p []byte) error {
	s := pickleScanner{p: p}
	for s.i < len(p) {
		s.at = s.i
		op := p[s.i]
		s.i++
		if err := s.skipArgument(op); err != nil {
			return err
		}
		if op == '.' {
			return nil
		}
	}
	return fmt.Errorf("pickle truncated: no STOP opcode in %d bytes", len(p))
}

// pickleScanner is scanPickle's position in p: i is the next byte, at the opcode
// being scanned.
type pickleScanner struct {
	p     []byte
	i, at int
}

// skipArgument checks the argument of opcode op, which starts at s.i, and steps
// past it; unknown and unsupported opcodes are errors.
func (s *pickleScanner) skipArgument(op byte) error {
	switch op {
	case '(', '.', '0', '1', '2', 'N', 0x88, 0x89, ')', 't', 0x85, 0x86, 0x87, ']', 'a', 'e', 'l',
		'}', 'd', 's', 'u', 0x8f, 0x90, 0x91, 'b', 'R', 0x81, 0x92, 0x93, 0x94, 'Q', 'o':
		return nil
	case 'K', 'h', 'q', 0x80: // one-byte argument
		return s.skip(1)
	case 'M': // two bytes
		return s.skip(2)
	case 'J', 'j', 'r': // four bytes
		return s.skip(4)
	case 'G': // eight bytes
		return s.skip(8)
	case 0x95: // FRAME: an 8-byte length of the opcodes that follow
		n, err := s.length(8)
		if err != nil {
			return err
		}
		return s.need(n)
	case 'U', 'C', 0x8c, 0x8a: // one-byte length, then data
		return s.skipCounted(1)
	case 'T', 'X', 'B', 0x8b: // four-byte length
		return s.skipCounted(4)
	case 0x8d, 0x8e, 0x96: // eight-byte length
		return s.skipCounted(8)
	case 'S', 'V': // one line of text data
		return s.line(len(s.p))
	case 'I', 'L', 'F', 'P', 'g', 'p': // one line holding a number (or a persistent id)
		return s.line(maxTextNumber)
	case 'c', 'i': // two lines: module and name
		if err := s.line(maxTextNumber); err != nil {
			return err
		}
		return s.line(maxTextNumber)
	case 0x82, 0x83, 0x84:
		return fmt.Errorf("pickle uses the extension registry (opcode 0x%02x at byte %d), which is not supported", op, s.at)
	case 0x97, 0x98:
		return fmt.Errorf("pickle uses out-of-band buffers (opcode 0x%02x at byte %d), which are not supported", op, s.at)
	default:
		return fmt.Errorf("not a pickle: unknown opcode 0x%02x at byte %d", op, s.at)
	}
}

// need checks that n more bytes remain after s.i.
func (s *pickleScanner) need(n uint64) error {
	if n > uint64(len(s.p)-s.i) {
		return fmt.Errorf("pickle truncated: opcode 0x%02x at byte %d needs %d more bytes, %d left", s.p[s.at], s.at, n, len(s.p)-s.i)
	}
	return nil
}

// skip steps past n bytes, which must remain.
func (s *pickleScanner) skip(n int) error {
	if err := s.need(uint64(n)); err != nil {
		return err
	}
	s.i += n
	return nil
}

// length reads a little-endian length of size bytes (1, 4 or 8) and steps past it.
func (s *pickleScanner) length(size int) (uint64, error) {
	if err := s.need(uint64(size)); err != nil {
		return 0, err
	}
	var n uint64
	switch size {
	case 1:
		n = uint64(s.p[s.i])
	case 4:
		n = uint64(binary.LittleEndian.Uint32(s.p[s.i:]))
	case 8:
		n = binary.LittleEndian.Uint64(s.p[s.i:])
	}
	s.i += size
	return n, nil
}

// skipCounted steps past a length of size bytes and the data of that length that
// follows it.
func (s *pickleScanner) skipCounted(size int) error {
	n, err := s.length(size)
	if err != nil {
		return err
	}
	if err := s.need(n); err != nil {
		return err
	}
	s.i += int(n)
	return nil
}

// line steps past one newline-terminated text argument of at most limit bytes.
func (s *pickleScanner) line(limit int) error {
	j := bytes.IndexByte(s.p[s.i:], '\n')
	if j < 0 {
		return fmt.Errorf("pickle truncated: unterminated text argument of opcode %q at byte %d", s.p[s.at], s.at)
	}
	if j > limit {
		return fmt.Errorf("pickle text argument of opcode %q at byte %d is %d bytes long, more than the %d allowed", s.p[s.at], s.at, j, limit)
	}
	s.i += j + 1
	return nil
}
