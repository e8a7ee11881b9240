package head

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

func fixtureFile(t *testing.T) *weights.File {
	t.Helper()
	f, err := weights.ReadSafetensors(fixtureDir + "head.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLoadFixtureHead(t *testing.T) {
	w, err := takeWeights(fixtureFile(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if w.M() != 45 || w.C() != 384 || w.Config != (Config{TopK: 12, TopR: 4, Alpha: 0.8, Heads: 8}) {
		t.Errorf("M %d C %d config %+v", w.M(), w.C(), w.Config)
	}
}

func TestLoadPrefix(t *testing.T) {
	f := fixtureFile(t)
	pf := &weights.File{Tensors: map[string]*tensor.Dense{"other.thing": tensor.New(3)}, Metadata: f.Metadata}
	for k, v := range f.Tensors {
		pf.Tensors["inner."+k] = v
	}
	w, err := takeWeights(pf, "inner.")
	if err != nil {
		t.Fatal(err)
	}
	if w.Tensors[NameFC1W] != f.Tensors[NameFC1W] {
		t.Error("prefixed tensor not taken")
	}
	if _, err := takeWeights(pf, ""); err == nil || !strings.Contains(err.Error(), `"learnable_vectors.weight" missing`) {
		t.Errorf("no prefix: error %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name   string
		change func(f *weights.File)
		want   string
	}{
		{"missing", func(f *weights.File) { delete(f.Tensors, NameFC2B) }, `tensor "ffn_layer.fc2.bias" missing`},
		{"shape", func(f *weights.File) { f.Tensors[NameFC1W] = tensor.New(1536, 383) },
			`tensor "ffn_layer.fc1.weight" has shape [1536 383], want [1536 384]`},
		{"extra", func(f *weights.File) { f.Tensors["ffn_layer.fc3.weight"] = tensor.New(2) }, `unexpected tensor "ffn_layer.fc3.weight"`},
		{"vectors rank", func(f *weights.File) { f.Tensors[NameVectors] = tensor.New(45 * 384) }, "want [M C]"},
		{"NaN", func(f *weights.File) {
			t := f.Tensors[NameNormB].Clone()
			t.Data[3] = float32(math.NaN())
			f.Tensors[NameNormB] = t
		}, `"cro_attn.norm.bias" holds a non-finite value`},
		{"metadata", func(f *weights.File) { f.Metadata = map[string]string{MetaTopK: "twelve"} }, `topk = "twelve"`},
		{"r > k", func(f *weights.File) { f.Metadata = map[string]string{MetaTopK: "3"} }, "topr = 4 exceeds topk = 3"},
		{"heads", func(f *weights.File) { f.Metadata = map[string]string{MetaHeads: "7"} }, "384 does not split into 7 heads"},
	}
	for _, c := range cases {
		f := fixtureFile(t)
		c.change(f)
		_, err := takeWeights(f, "")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "head: ") {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "absent.safetensors"), ""); err == nil || !strings.HasPrefix(err.Error(), "head: ") {
		t.Errorf("missing file: error %v", err)
	}
}

func TestInitRoundTrip(t *testing.T) {
	w, err := Init(384, 45, 7)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "head.safetensors")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	r, err := Load(path, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Config != w.Config {
		t.Errorf("config %+v after the round trip, want %+v", r.Config, w.Config)
	}
	for name, want := range w.Tensors {
		got := r.Tensors[name]
		if !tensor.SameShape(got.Shape, want.Shape) {
			t.Fatalf("%s: shape %v, want %v", name, got.Shape, want.Shape)
		}
		for i := range want.Data {
			if got.Data[i] != want.Data[i] {
				t.Fatalf("%s[%d] = %v after the round trip, want %v", name, i, got.Data[i], want.Data[i])
			}
		}
	}
	again, _ := Init(384, 45, 7)
	other, _ := Init(384, 45, 8)
	if again.Tensors[NameVectors].Data[100] != w.Tensors[NameVectors].Data[100] {
		t.Error("same seed, different heads")
	}
	if other.Tensors[NameVectors].Data[100] == w.Tensors[NameVectors].Data[100] {
		t.Error("different seeds, same heads")
	}
}

func stats(x []float32) (mean, std, lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range x {
		mean += float64(v)
		lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (float64(v) - mean) * (float64(v) - mean)
	}
	return mean, math.Sqrt(std / float64(len(x))), lo, hi
}

func TestInitDistributions(t *testing.T) {
	w, err := Init(384, 45, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m, s, _, _ := stats(w.Tensors[NameVectors].Data); math.Abs(m) > 0.02 || math.Abs(s-1) > 0.02 {
		t.Errorf("T: mean %v std %v, want N(0, 1)", m, s)
	}
	bound := math.Sqrt(6.0 / (384 + 3*384))
	if m, s, lo, hi := stats(w.Tensors[NameInProjW].Data); lo < -bound || hi > bound || math.Abs(s-bound/math.Sqrt(3)) > 0.002 || math.Abs(m) > 0.001 {
		t.Errorf("in_proj: mean %v std %v range [%v, %v], want U(±%v)", m, s, lo, hi, bound)
	}
	for _, name := range []string{NameOutProjW, NameFC1W, NameFC2W} {
		// N(0, 0.01²) cut at ±3σ has std 0.01·0.9866.
		if _, s, lo, hi := stats(w.Tensors[name].Data); lo < -0.03 || hi > 0.03 || math.Abs(s-0.009866) > 0.0002 {
			t.Errorf("%s: std %v range [%v, %v], want truncated N(0, 0.01²) in ±0.03", name, s, lo, hi)
		}
	}
	for _, name := range []string{NameInProjB, NameOutProjB, NameFC1B, NameFC2B, NameNormB, NameNormOutB} {
		if _, _, lo, hi := stats(w.Tensors[name].Data); lo != 0 || hi != 0 {
			t.Errorf("%s not zero", name)
		}
	}
	for _, name := range []string{NameNormW, NameNormOutW} {
		if _, _, lo, hi := stats(w.Tensors[name].Data); lo != 1 || hi != 1 {
			t.Errorf("%s not one", name)
		}
	}
	if _, err := Init(100, 45, 1); err == nil {
		t.Error("width 100 (not a multiple of 8 heads): no error")
	}
}

// TestReadOfficialCheckpoints reads the head from the authors' torch.save state dict
// and from their traced model (prefix "inner.", backbone beside it): the same tensors
// as the safetensors fixture.
func TestReadOfficialCheckpoints(t *testing.T) {
	const dir = "../../../shared/fixtures/official-checkpoints/"
	want, err := Load(fixtureDir+"head.safetensors", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"head_official.pth", "trace_tiny.pt"} {
		if _, err := os.Stat(dir + name); err != nil {
			t.Skipf("official checkpoints not present (%v): they live in the project's shared fixtures", err)
		}
		w, err := Load(dir+name, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for n, wt := range want.Tensors {
			got := w.Tensors[n]
			for i := range wt.Data {
				if got.Data[i] != wt.Data[i] {
					t.Fatalf("%s: %s[%d] = %v, safetensors fixture %v", name, n, i, got.Data[i], wt.Data[i])
				}
			}
		}
		if w.Config != DefaultConfig() {
			t.Errorf("%s: config %+v, want the defaults (no metadata)", name, w.Config)
		}
	}
}
