package weights

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/tensor"
)

// sameTensors fails unless got and want hold the same names, shapes and bit patterns.
func sameTensors(t *testing.T, got, want map[string]*tensor.Dense) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d tensors, want %d", len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("tensor %q missing", name)
			continue
		}
		if !tensor.SameShape(g.Shape, w.Shape) {
			t.Errorf("%s: shape %v, want %v", name, g.Shape, w.Shape)
			continue
		}
		for i := range w.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(w.Data[i]) {
				t.Errorf("%s[%d] = %v, want %v (bitwise)", name, i, g.Data[i], w.Data[i])
				break
			}
		}
	}
}

func TestReadPthOfficialHeadMatchesSafetensors(t *testing.T) {
	dir := officialDir(t)
	got, err := ReadPth(filepath.Join(dir, "head_official.pth"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ReadSafetensors(filepath.Join("..", "testdata", "fixtures", "ideal-head-g8", "head.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, got.Tensors, want.Tensors)
	if got.Metadata["format"] != "pth" {
		t.Errorf("metadata %v, want format pth", got.Metadata)
	}
}

// hubViTS1Block lists the torch-hub DINOv2 names and shapes of a 1-block ViT-S/14
// (C = 384, 6 heads, MLP 1536) whose position table holds 1 + 5×5 positions.
var hubViTS1Block = map[string][]int{
	"cls_token": {1, 1, 384}, "pos_embed": {1, 26, 384}, "mask_token": {1, 384},
	"patch_embed.proj.weight": {384, 3, 14, 14}, "patch_embed.proj.bias": {384},
	"blocks.0.norm1.weight": {384}, "blocks.0.norm1.bias": {384},
	"blocks.0.attn.qkv.weight": {1152, 384}, "blocks.0.attn.qkv.bias": {1152},
	"blocks.0.attn.proj.weight": {384, 384}, "blocks.0.attn.proj.bias": {384},
	"blocks.0.ls1.gamma":    {384},
	"blocks.0.norm2.weight": {384}, "blocks.0.norm2.bias": {384},
	"blocks.0.mlp.fc1.weight": {1536, 384}, "blocks.0.mlp.fc1.bias": {1536},
	"blocks.0.mlp.fc2.weight": {384, 1536}, "blocks.0.mlp.fc2.bias": {384},
	"blocks.0.ls2.gamma": {384},
	"norm.weight":        {384}, "norm.bias": {384},
}

func TestReadPthHubStateDict(t *testing.T) {
	f, err := ReadPth(filepath.Join(officialDir(t), "hub_state_dict_vits_1block.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != len(hubViTS1Block) {
		t.Errorf("%d tensors, want %d: %v", len(f.Tensors), len(hubViTS1Block), f.Names())
	}
	for name, shape := range hubViTS1Block {
		d, ok := f.Tensors[name]
		switch {
		case !ok:
			t.Errorf("tensor %q missing", name)
		case !tensor.SameShape(d.Shape, shape):
			t.Errorf("%s: shape %v, want %v", name, d.Shape, shape)
		case len(d.Data) != tensor.Numel(shape):
			t.Errorf("%s: %d values for shape %v", name, len(d.Data), shape)
		}
	}
	// The weights are random, never all zero: a wrong offset or storage would show.
	for name, d := range f.Tensors {
		if strings.HasSuffix(name, "weight") && d.Data[len(d.Data)-1] == 0 && d.Data[0] == 0 {
			t.Errorf("%s starts and ends with zeros", name)
		}
	}
}

// The trace holds the 1-block backbone and the head of the other two fixtures, nested
// under the tracing wrapper's "inner." prefix.
func TestReadTorchScriptTraceHoldsBackboneAndHead(t *testing.T) {
	dir := officialDir(t)
	trace, err := ReadTorchScript(filepath.Join(dir, "trace_tiny.pt"))
	if err != nil {
		t.Fatal(err)
	}
	if got := trace.Metadata["torchscript_class"]; got != "__torch__.Traced" {
		t.Errorf("root class %q", got)
	}
	prefix, err := trace.FindPrefix("vision_encoder.")
	if err != nil || prefix != "inner." {
		t.Fatalf("FindPrefix(vision_encoder.) = %q, %v; want \"inner.\"", prefix, err)
	}
	hub, err := ReadPth(filepath.Join(dir, "hub_state_dict_vits_1block.pth"))
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, trace.SubTree(prefix+"vision_encoder.").Tensors, hub.Tensors)

	head, err := ReadPth(filepath.Join(dir, "head_official.pth"))
	if err != nil {
		t.Fatal(err)
	}
	inner := trace.SubTree(prefix)
	got := map[string]*tensor.Dense{}
	for name := range head.Tensors {
		got[name] = inner.Tensors[name]
		if got[name] == nil {
			t.Fatalf("head tensor %q missing under %q", name, prefix)
		}
	}
	sameTensors(t, got, head.Tensors)
	// Besides backbone and head, the wrapper holds only the mask down-sampling conv.
	if n := len(trace.Tensors) - len(hub.Tensors) - len(head.Tensors); n != 1 || trace.Tensors["inner.mask_downsample.weight"] == nil {
		t.Errorf("%d extra tensors, want only inner.mask_downsample.weight: %v", n, trace.Names())
	}
}

func TestLoadSniffsEveryFormat(t *testing.T) {
	dir := officialDir(t)
	for file, format := range map[string]string{"head_official.pth": "pth", "trace_tiny.pt": "torchscript"} {
		f, err := Load(filepath.Join(dir, file))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if f.Metadata["format"] != format {
			t.Errorf("%s: format %q, want %q", file, f.Metadata["format"], format)
		}
	}
	f, err := Load(filepath.Join("..", "testdata", "fixtures", "ideal-head-g8", "head.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["nheads"] != "8" || len(f.Tensors) != 13 {
		t.Errorf("safetensors through Load: %d tensors, metadata %v", len(f.Tensors), f.Metadata)
	}
	if _, err := ReadPth(filepath.Join(dir, "trace_tiny.pt")); err == nil || !strings.Contains(err.Error(), "TorchScript") {
		t.Errorf("ReadPth of a TorchScript archive: %v", err)
	}
	if _, err := ReadTorchScript(filepath.Join(dir, "head_official.pth")); err == nil || !strings.Contains(err.Error(), "not a TorchScript") {
		t.Errorf("ReadTorchScript of a state dict: %v", err)
	}
}

func TestTruncatedOfficialArchivesFail(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(officialDir(t), "head_official.pth"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 3, 100, len(b) / 2, len(b) - 23, len(b) - 1} {
		if _, err := Decode(bytes.NewReader(b[:n]), int64(n)); err == nil {
			t.Errorf("%d of %d bytes: no error", n, len(b))
		}
	}
}

func decodeBytes(b []byte) (*File, error) { return Decode(bytes.NewReader(b), int64(len(b))) }

func TestStridedViewsMadeContiguous(t *testing.T) {
	// The top folder is free: torch.save writes "archive", older savers the file name.
	for _, root := range []string{"archive", "my_model"} {
		f, err := decodeBytes(stridedArchive(t, root))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]*tensor.Dense{
			"t":      tensor.FromData([]float32{1, 4, 2, 5, 3, 6}, 3, 2),
			"all":    tensor.FromData(iota32(12), 12),
			"bcast":  tensor.FromData([]float32{9, 10, 11, 9, 10, 11}, 2, 3),
			"scalar": tensor.FromData([]float32{5}),
			"empty":  tensor.FromData([]float32{}, 0, 3),
		}
		sameTensors(t, f.Tensors, want)
	}
	// Views of one storage must not share memory.
	f, _ := decodeBytes(stridedArchive(t, "archive"))
	f.Tensors["all"].Data[1] = 100
	if f.Tensors["t"].Data[0] != 1 {
		t.Error("tensors of one storage share memory")
	}
}

func TestStorageTypesConverted(t *testing.T) {
	half := binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, 0x3c00), 0xc000), 0x3555)
	bf16 := binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, 0x3f80), 0xc000), 0x4049)
	dbl := binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, math.Float64bits(0.1)), math.Float64bits(-1e300))
	pkl := stateDictPickle(
		tensorSpec{name: "h", storage: "HalfStorage", key: "0", numel: 3, size: []int{3}, stride: []int{1}},
		tensorSpec{name: "b", storage: "BFloat16Storage", key: "1", numel: 3, size: []int{3}, stride: []int{1}},
		tensorSpec{name: "d", storage: "DoubleStorage", key: "2", numel: 2, size: []int{2}, stride: []int{1}, param: true},
	)
	f, err := decodeBytes(zipArchive(t, "archive", map[string][]byte{"data.pkl": pkl, "data/0": half, "data/1": bf16, "data/2": dbl}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]float32{
		"h": {1, -2, 0.333251953125},
		"b": {1, -2, 3.140625},
		"d": {float32(0.1), float32(math.Inf(-1))},
	}
	for name, w := range want {
		if !reflect.DeepEqual(f.Tensors[name].Data, w) {
			t.Errorf("%s = %v, want %v", name, f.Tensors[name].Data, w)
		}
	}
}

func TestNestedCheckpointFlattened(t *testing.T) {
	p := &pickler{}
	p.op(0x80, 2, '}', '(')
	p.str("epoch").int(7)
	p.str("note").str("not a tensor")
	p.str("model").op('}', '(')
	p.str("w").tensor(tensorSpec{storage: "FloatStorage", key: "0", numel: 2, size: []int{2}, stride: []int{1}, param: true})
	p.op('u')
	p.op('u', '.')
	f, err := decodeBytes(zipArchive(t, "archive", map[string][]byte{"data.pkl": p.Bytes(), "data/0": float32Bytes(3, 4)}))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Names(); !reflect.DeepEqual(got, []string{"model.w"}) || !reflect.DeepEqual(f.Tensors["model.w"].Data, []float32{3, 4}) {
		t.Errorf("names %v", got)
	}
}

func TestReadTorchScriptSmallTree(t *testing.T) {
	f, err := DecodeTorchScript(bytes.NewReader(torchScriptArchive(t)), int64(len(torchScriptArchive(t))))
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, f.Tensors, map[string]*tensor.Dense{
		"inner.w":        tensor.FromData([]float32{1, 2, 3, 4, 5, 6}, 2, 3),
		"inner.lin.bias": tensor.FromData([]float32{-1, -2}, 2),
	})
	if p, err := f.FindPrefix("lin."); p != "inner." || err != nil {
		t.Errorf("FindPrefix(lin.) = %q, %v", p, err)
	}
}

func TestFindPrefixAndSubTree(t *testing.T) {
	one := tensor.FromData([]float32{1}, 1)
	f := &File{Tensors: map[string]*tensor.Dense{
		"a.vision_encoder.x": one, "a.vision_encoder.y.z": one, "a.head.w": one, "not_vision_encoder.q": one,
	}, Metadata: map[string]string{"k": "v"}}
	if p, err := f.FindPrefix("vision_encoder."); p != "a." || err != nil {
		t.Errorf("FindPrefix = %q, %v; want a.", p, err)
	}
	sub := f.SubTree("a.vision_encoder.")
	if got := sub.Names(); !reflect.DeepEqual(got, []string{"x", "y.z"}) || sub.Metadata["k"] != "v" {
		t.Errorf("SubTree names %v metadata %v", got, sub.Metadata)
	}
	if p, err := f.FindPrefix("head."); p != "a." || err != nil {
		t.Errorf("FindPrefix(head.) = %q, %v", p, err)
	}
	f.Tensors["vision_encoder.top"] = one
	if _, err := f.FindPrefix("vision_encoder."); err == nil || !strings.Contains(err.Error(), "several prefixes") {
		t.Errorf("ambiguous prefix: %v", err)
	}
	if _, err := f.FindPrefix("blocks."); err == nil || !strings.Contains(err.Error(), "no tensor name") {
		t.Errorf("absent marker: %v", err)
	}
}

// badArchives are broken inputs, each with a part of the error it must give.
func badArchives(t testing.TB) map[string]struct {
	data []byte
	want string
} {
	store := func(pkl []byte, data ...[]byte) []byte {
		rec := map[string][]byte{"data.pkl": pkl}
		for i, d := range data {
			rec["data/"+string(rune('0'+i))] = d
		}
		return zipArchive(t, "archive", rec)
	}
	vec := func(storage string, numel, n int) []byte {
		return stateDictPickle(tensorSpec{name: "v", storage: storage, key: "0", numel: numel, size: []int{n}, stride: []int{1}})
	}
	good := stridedArchive(t, "archive")
	unknownClass := (&pickler{}).op(0x80, 2).global("models.model", "IDEAL").op(')', 0x81, '.').Bytes()
	reduceOS := (&pickler{}).op(0x80, 2).global("os", "system").str("echo hi").op(0x85, 'R', '.').Bytes()
	huge := (&pickler{}).op(0x80, 2, 0x8d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f).Bytes()
	frame := (&pickler{}).op(0x80, 4, 0x95, 0, 0, 0, 0, 1, 0, 0, 0, '}', '.').Bytes()
	cyclic := (&pickler{}).op(0x80, 2).global("__torch__", "M").op(')', 0x81, 'q', 0, '}', '(').str("self").op('h', 0, 'u', 'b', '.').Bytes()
	cyclicTS := zipArchive(t, "t", map[string][]byte{"data.pkl": cyclic, "constants.pkl": {0x80, 2, ')', '.'}})
	return map[string]struct {
		data []byte
		want string
	}{
		"text file":          {[]byte("hello, this is not a checkpoint\n"), "unknown format"},
		"empty":              {nil, "empty file"},
		"truncated zip":      {good[:len(good)/2], "not a readable zip"},
		"zip without pickle": {zipArchive(t, "archive", map[string][]byte{"x": {1}}), "no data.pkl"},
		"unknown class":      {store(unknownClass), "models.model.IDEAL"},
		"os.system":          {store(reduceOS), "pickle class os.system is not supported"},
		"complex storage":    {store(vec("ComplexFloatStorage", 2, 2), make([]byte, 16)), "torch.ComplexFloatStorage is not supported"},
		"inexact int64":      {store(vec("LongStorage", 2, 2), binary.LittleEndian.AppendUint64(make([]byte, 8), 1<<24+1)), "value 1.6777216e+07 at element 1 cannot be held exactly"},
		"view out of range":  {store(vec("FloatStorage", 2, 3), make([]byte, 8)), "reaches element 2 of a 2-element storage"},
		"short storage":      {store(vec("FloatStorage", 3, 3), make([]byte, 8)), "holds 8 bytes, want 12"},
		"missing storage":    {store(vec("FloatStorage", 3, 3)), "data/0 is missing"},
		"not a dict":         {store([]byte{0x80, 2, 'K', 7, '.'}), "not a dict of tensors"},
		"no tensors":         {store([]byte{0x80, 2, '}', '.'}), "no tensors"},
		"unknown opcode":     {store([]byte{0x80, 2, 0xff, '.'}), "unknown opcode 0xff"},
		"huge string":        {store(huge), "pickle truncated"},
		"huge frame":         {store(frame), "pickle truncated"},
		"no stop":            {store([]byte{0x80, 2, '}'}), "no STOP"},
		"stack underflow":    {store([]byte{0x80, 2, 's', '.'}), "data.pkl"},
		"cyclic modules":     {cyclicTS, "nested more than"},
		"legacy format":      {append(append([]byte{}, legacyTorchMagic...), 0, 0), "legacy PyTorch"},
		"amplified views": {store(stateDictPickle(
			tensorSpec{name: "a", storage: "FloatStorage", key: "0", numel: 1, size: []int{1 << 24}, stride: []int{0}},
			tensorSpec{name: "b", storage: "FloatStorage", key: "0", numel: 1, size: []int{1 << 24}, stride: []int{0}},
		), make([]byte, 4)), "more than 8 times"},
		"broadcast too large": {store(stateDictPickle(
			tensorSpec{name: "a", storage: "FloatStorage", key: "0", numel: 1, size: []int{1<<24 + 1}, stride: []int{0}},
		), make([]byte, 4)), "larger than the 16777216 allowed"},
		"long text integer": {store(append(append([]byte{0x80, 2, 'L'}, bytes.Repeat([]byte{'9'}, 5000)...), 'L', '\n', '.')), "more than the 1024 allowed"},
		"unhashable key":    {store((&pickler{}).op(0x80, 2).emptyOrderedDict().op('C', 1, 'a', 'N', 's', '.').Bytes()), "malformed pickle"},
		"bad key":           {store((&pickler{}).op(0x80, 2, '(').str("storage").global("torch", "FloatStorage").str("../x").str("cpu").int(1).op('t', 'Q', '.').Bytes()), "not a plain record name"},
	}
}

func TestBadInputsGiveErrors(t *testing.T) {
	for name, c := range badArchives(t) {
		t.Run(name, func(t *testing.T) {
			f, err := decodeBytes(c.data)
			if err == nil {
				t.Fatalf("no error; got %d tensors", len(f.Tensors))
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestFileErrorsNamePath(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "notes.pth")
	if err := os.WriteFile(p, []byte("plain text"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, read := range []func(string) (*File, error){Load, ReadPth, ReadTorchScript} {
		if _, err := read(p); err == nil || !strings.HasPrefix(err.Error(), "weights: "+p) {
			t.Errorf("error %v does not start with the prefix and path", err)
		}
		if _, err := read(filepath.Join(dir, "missing.pth")); err == nil || !strings.HasPrefix(err.Error(), "weights: ") {
			t.Errorf("missing file: %v", err)
		}
		if _, err := read(dir); err == nil {
			t.Error("a directory read without error")
		}
	}
}
