package weights

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/tensor"
)

func TestSafetensorsRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	in := map[string]*tensor.Dense{
		"a":      tensor.FromData([]float32{1, -2.5, 3, float32(math.Inf(1)), 0, 7}, 2, 3),
		"scalar": {Shape: []int{}, Data: []float32{42}},
		"empty":  {Shape: []int{0, 4}, Data: []float32{}},
	}
	if err := WriteSafetensors(path, in, map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	f, err := ReadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["k"] != "v" || len(f.Tensors) != 3 {
		t.Fatalf("metadata %v, %d tensors", f.Metadata, len(f.Tensors))
	}
	for name, want := range in {
		got := f.Tensors[name]
		if !tensor.SameShape(got.Shape, want.Shape) || len(got.Data) != len(want.Data) {
			t.Fatalf("%s: shape %v, want %v", name, got.Shape, want.Shape)
		}
		for i := range want.Data {
			if got.Data[i] != want.Data[i] {
				t.Fatalf("%s[%d] = %v, want %v", name, i, got.Data[i], want.Data[i])
			}
		}
	}
}

// raw builds a safetensors byte stream from a header and data by hand.
func raw(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func TestSafetensorsHalfFormats(t *testing.T) {
	// F16: 1.0 = 0x3c00, -2.0 = 0xc000, smallest subnormal 0x0001 = 2^-24, inf 0x7c00.
	// BF16: 1.0 = 0x3f80, -0.5 = 0xbf00.
	data := []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c, 0x80, 0x3f, 0x00, 0xbf}
	hdr := `{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}`
	b := raw(hdr, data)
	f, err := DecodeSafetensors(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	wantH := []float32{1, -2, float32(math.Ldexp(1, -24)), float32(math.Inf(1))}
	for i, w := range wantH {
		if f.Tensors["h"].Data[i] != w {
			t.Errorf("F16[%d] = %v, want %v", i, f.Tensors["h"].Data[i], w)
		}
	}
	if d := f.Tensors["b"].Data; d[0] != 1 || d[1] != -0.5 {
		t.Errorf("BF16 = %v, want [1 -0.5]", d)
	}
}

func TestSafetensorsBadInput(t *testing.T) {
	good := raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8))
	cases := map[string]struct {
		b    []byte
		want string
	}{
		"empty":          {nil, "shorter than"},
		"text":           {[]byte("hello, this is not a tensor file"), "header length"},
		"truncated":      {good[:len(good)-3], "offsets"},
		"trailing bytes": {append(append([]byte{}, good...), 1, 2, 3, 4), "after the last tensor"},
		"bad json":       {raw(`{"a":`, nil), "JSON"},
		"bad dtype":      {raw(`{"a":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}}`, make([]byte, 2)), "unsupported dtype"},
		"shape/offsets":  {raw(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)), "do not match shape"},
		"huge shape":     {raw(`{"a":{"dtype":"F32","shape":[100000,100000,100000],"data_offsets":[0,8]}}`, make([]byte, 8)), "too large"},
		"negative shape": {raw(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, make([]byte, 8)), "negative"},
	}
	for name, c := range cases {
		_, err := DecodeSafetensors(bytes.NewReader(c.b), int64(len(c.b)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
	}
	if _, err := ReadSafetensors(filepath.Join(t.TempDir(), "missing.safetensors")); err == nil || !os.IsNotExist(errorsUnwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
}

func errorsUnwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}
