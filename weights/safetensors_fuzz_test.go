package weights

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// f32 returns the little-endian float32 bytes of vs.
func f32(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// brokenSafetensors are hand-made bad or odd safetensors files; the name says what is
// special. The ones named "ok: ..." are valid.
func brokenSafetensors() map[string][]byte {
	nan, inf := float32(math.NaN()), float32(math.Inf(-1))
	two := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`
	hugeLen := binary.LittleEndian.AppendUint64(nil, 1<<62)
	return map[string][]byte{
		"ok: nan and inf":         raw(`{"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}`, f32(1, nan, inf, -0.0)),
		"ok: unsorted offsets":    raw(`{"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32(1, 2, 3)),
		"ok: half formats":        raw(`{"h":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[],"data_offsets":[4,6]},"d":{"dtype":"F64","shape":[1],"data_offsets":[6,14]}}`, []byte{0, 0x7e, 0, 0x7c, 0x80, 0x7f, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f}),
		"ok: empty and scalar":    raw(`{"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"__metadata__":{"k":"v"}}`, f32(7)),
		"ok: only metadata":       raw(`{"__metadata__":{"format":"pt"}}`, nil),
		"overlapping offsets":     raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, f32(1, 2, 3)),
		"gap between tensors":     raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, f32(1, 2, 3)),
		"offsets past the end":    raw(`{"a":{"dtype":"F32","shape":[1073741824],"data_offsets":[0,4294967296]}}`, f32(1)),
		"offsets beyond int64":    raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,99999999999999999999]}}`, f32(1)),
		"negative offsets":        raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, f32(1)),
		"shape product overflows": raw(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}}`, nil),
		"shape overflows int64":   raw(`{"a":{"dtype":"F32","shape":[3037000500,3037000500],"data_offsets":[0,4]}}`, f32(1)),
		"shape not integers":      raw(`{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, f32(1)),
		"wrong dtype":             raw(`{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, f32(1, 2)),
		"lower-case dtype":        raw(`{"a":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, f32(1)),
		"metadata not strings":    raw(`{"__metadata__":{"n":1}}`, nil),
		"entry not an object":     raw(`{"a":[1,2,3]}`, nil),
		"header not an object":    raw(`[]`, nil),
		"header length too large": append(hugeLen, []byte(`{}`)...),
		"header length past EOF":  append(binary.LittleEndian.AppendUint64(nil, 100), []byte(`{"a":1}`)...),
		"truncated data":          raw(two, f32(1, 2)),
		"zero length":             nil,
		"seven bytes":             []byte("\x02\x00\x00\x00\x00\x00\x00"),
		"wrong magic":             []byte("PK\x03\x04 this is a zip"),
	}
}

func allocated() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// FuzzSafetensors decodes arbitrary bytes as a safetensors file. Whatever it accepts
// must be well formed (values matching shapes, sizes consistent with the file's
// length), must cost memory in proportion to the file only, and must come back bit for
// bit (NaN and Inf included) after WriteSafetensors and ReadSafetensors.
func FuzzSafetensors(f *testing.F) {
	for _, b := range brokenSafetensors() {
		f.Add(b)
	}
	for _, p := range []string{filepath.Join("..", "imaging", "testdata", "decode_expected.safetensors"),
		filepath.Join("..", "testdata", "fixtures", "dinov2-tiny", "weights.safetensors")} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 64<<10 {
			b = b[:8+binary.LittleEndian.Uint64(b)+64] // the header and a little data: fast to mutate
		}
		f.Add(b)
	}
	path := filepath.Join(f.TempDir(), "round.safetensors")
	f.Fuzz(func(t *testing.T, data []byte) {
		done := time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("decoding %d bytes takes more than 5 s", len(data))) })
		defer done.Stop()
		before := allocated()
		out, err := DecodeSafetensors(bytes.NewReader(data), int64(len(data)))
		if got, limit := allocated()-before, uint64(64*len(data))+1<<20; got > limit {
			t.Fatalf("%d bytes of input allocated %d bytes (bound %d; error %v)", len(data), got, limit, err)
		}
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("empty error message")
			}
			return
		}
		var values int
		for name, d := range out.Tensors {
			if d == nil || len(d.Data) != numel(d.Shape) {
				t.Fatalf("tensor %q: %d values for shape %v", name, len(d.Data), d.Shape)
			}
			values += len(d.Data)
		}
		if 2*values > len(data) { // the narrowest dtype takes 2 bytes a value
			t.Fatalf("%d values from %d bytes", values, len(data))
		}
		// The file-level reader agrees with the stream decoder (and by sniffing, Decode).
		if err := WriteSafetensors(path, out.Tensors, out.Metadata); err != nil {
			t.Fatalf("WriteSafetensors: %v", err)
		}
		back, err := ReadSafetensors(path)
		if err != nil {
			t.Fatalf("re-reading what WriteSafetensors wrote: %v", err)
		}
		if len(back.Tensors) != len(out.Tensors) || len(back.Metadata) != len(out.Metadata) {
			t.Fatalf("round trip: %d tensors and %d metadata, want %d and %d",
				len(back.Tensors), len(back.Metadata), len(out.Tensors), len(out.Metadata))
		}
		for k, v := range out.Metadata {
			if back.Metadata[k] != v {
				t.Fatalf("round trip: metadata %q is %q, want %q", k, back.Metadata[k], v)
			}
		}
		for name, d := range out.Tensors {
			b := back.Tensors[name]
			if b == nil || !slices.Equal(b.Shape, d.Shape) || len(b.Data) != len(d.Data) {
				t.Fatalf("round trip: tensor %q lost or reshaped (%v)", name, d.Shape)
			}
			for i, v := range d.Data {
				if math.Float32bits(b.Data[i]) != math.Float32bits(v) {
					t.Fatalf("round trip: %s[%d] is %v, want %v", name, i, b.Data[i], v)
				}
			}
		}
	})
}

// numel is the element count of a shape ([] is a scalar).
func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// TestSafetensorsBroken checks the hand-made files of the fuzz corpus: the valid ones
// decode, every other one is refused by ReadSafetensors with the package prefix and
// its path, at a cost of a few kilobytes however much data its header declares.
func TestSafetensorsBroken(t *testing.T) {
	dir := t.TempDir()
	for name, b := range brokenSafetensors() {
		p := filepath.Join(dir, "x.safetensors")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		before := allocated()
		_, err := ReadSafetensors(p)
		got := allocated() - before
		if strings.HasPrefix(name, "ok: ") {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), "weights: "+p+": ") {
			t.Errorf("%s: error %v, want one starting with the prefix and path", name, err)
		}
		if got > 64<<10 {
			t.Errorf("%s: refusing it allocated %d bytes", name, got)
		}
	}
}

// TestSafetensorsDeclaresMoreThanFile is the resource bound of the safetensors reader:
// headers declaring gigabytes of tensor data (or a gigabyte-long header) in a file of a
// few bytes are refused before anything of that size is allocated.
func TestSafetensorsDeclaresMoreThanFile(t *testing.T) {
	cases := map[string]struct {
		b    []byte
		want string
	}{
		"4 GiB tensor":                         {raw(`{"a":{"dtype":"F32","shape":[1073741824],"data_offsets":[0,4294967296]}}`, f32(1)), "do not match shape"},
		"2^31 values":                          {raw(`{"a":{"dtype":"F64","shape":[65536,32768],"data_offsets":[0,17179869184]}}`, f32(1)), "too large"},
		"1 GiB header":                         {append(binary.LittleEndian.AppendUint64(nil, 1<<30), '{', '}'), "header length 1073741824 does not fit"},
		"header within the limit but past EOF": {append(binary.LittleEndian.AppendUint64(nil, MaxHeaderBytes), '{', '}'), "does not fit a 10-byte file"},
	}
	for name, c := range cases {
		before := allocated()
		_, err := DecodeSafetensors(bytes.NewReader(c.b), int64(len(c.b)))
		got := allocated() - before
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
		if got > 64<<10 {
			t.Errorf("%s: allocated %d bytes before refusing", name, got)
		}
	}
}
