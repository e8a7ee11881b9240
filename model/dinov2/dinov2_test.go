package dinov2

import (
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

func readFixture(t *testing.T) (w, expected *weights.File) {
	t.Helper()
	w, err := weights.ReadSafetensors(fixtureDir + "weights.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	expected, err = weights.ReadSafetensors(fixtureDir + "expected.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	return w, expected
}

// testFixture runs the fixture's pixels through backend b and compares with the
// features the official code produced.
func testFixture(t *testing.T, b kernels.Backend) {
	m, err := Load(fixtureDir+"weights.safetensors", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Naming: "huggingface", Width: 48, Depth: 2, Heads: 3, Patch: 14, PosGrid: 5}
	if m.Config != want {
		t.Fatalf("config %+v, want %+v", m.Config, want)
	}
	_, exp := readFixture(t)
	px := exp.Tensors["pixels"]
	for range 2 { // the second run reuses the cached workspace and position embedding
		got, err := m.Features(b, px.Data, 98)
		if err != nil {
			t.Fatal(err)
		}
		maxErr, cos := compareFeatures(t, got, exp.Tensors["features"], 1e-3, 0.9999)
		t.Logf("%s: max abs error %.3g, lowest patch cosine %.9f", b.Name(), maxErr, cos)
	}
	m.Release(b)
}

func TestFixtureReference(t *testing.T) { testFixture(t, kernels.NewReference()) }

// The torch-hub names (fused qkv, under a TorchScript-style prefix) give the same model.
func TestHubNames(t *testing.T) {
	w, exp := readFixture(t)
	hf, err := FromFile(w, Options{Heads: 3})
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "inner.vision_encoder."
	hubFile := toHub(w, prefix, 2)
	hubFile.Tensors["inner.head.weight"] = tensor.New(2, 48) // other parts of an archive are ignored
	hub, err := FromFile(hubFile, Options{Heads: 3})
	if err != nil {
		t.Fatal(err)
	}
	if hub.Naming != "torch-hub" || hub.Prefix != prefix || hub.Depth != 2 {
		t.Fatalf("hub config %+v", hub.Config)
	}
	b := kernels.NewReference()
	px := exp.Tensors["pixels"].Data
	f1, err := hf.Features(b, px, 98)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := hub.Features(b, px, 98)
	if err != nil {
		t.Fatal(err)
	}
	compareFeatures(t, f2, f1, 0, 1-1e-12)
	if _, err := FromFile(hubFile, Options{Heads: 3, Prefix: "wrong."}); err == nil || !strings.Contains(err.Error(), "wrong.patch_embed.proj.weight") {
		t.Errorf("wrong prefix: error %v", err)
	}
}

// Base- and large-shaped weights load the same way; heads are C/64.
func TestInferShapes(t *testing.T) {
	for _, tc := range []struct{ c, depth, heads, regs int }{{768, 1, 12, 0}, {1024, 1, 16, 4}, {384, 2, 6, 4}} {
		m, err := FromFile(randomHF(1, tc.c, tc.depth, 37, 14, tc.regs), Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := Config{Naming: "huggingface", Width: tc.c, Depth: tc.depth, Heads: tc.heads, Patch: 14, PosGrid: 37, Registers: tc.regs}
		if m.Config != want {
			t.Errorf("config %+v, want %+v", m.Config, want)
		}
	}
	f := randomHF(1, 48, 1, 5, 14, 0)
	if _, err := FromFile(f, Options{}); err == nil || !strings.Contains(err.Error(), "heads") {
		t.Errorf("width 48 without a head count: error %v", err)
	}
	f.Metadata["num_attention_heads"] = "4"
	if m, err := FromFile(f, Options{}); err != nil || m.Heads != 4 {
		t.Errorf("heads from metadata: %v, %v", m, err)
	}
	if m, err := FromFile(f, Options{Heads: 3}); err != nil || m.Heads != 3 {
		t.Errorf("explicit heads override: %v, %v", m, err)
	}
	if _, err := FromFile(f, Options{Heads: 5}); err == nil || !strings.Contains(err.Error(), "5 heads") {
		t.Errorf("48 into 5 heads: error %v", err)
	}
}

func TestBadWeights(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(f *weights.File)
		substr []string
	}{
		{"missing", func(f *weights.File) { delete(f.Tensors, "encoder.layer.1.mlp.fc2.bias") },
			[]string{`missing tensor "encoder.layer.1.mlp.fc2.bias"`, "[48]"}},
		{"wrong shape", func(f *weights.File) {
			f.Tensors["encoder.layer.0.attention.attention.key.weight"] = tensor.New(48, 47)
		}, []string{`"encoder.layer.0.attention.attention.key.weight" has shape [48 47], want [48 48]`}},
		{"extra", func(f *weights.File) { f.Tensors["encoder.layer.0.mlp.fc3.weight"] = tensor.New(3) },
			[]string{`unexpected tensor "encoder.layer.0.mlp.fc3.weight"`}},
		{"block gap", func(f *weights.File) { f.Tensors["encoder.layer.3.norm1.weight"] = tensor.New(48) },
			[]string{"block 2 is missing", "encoder.layer.2.*"}},
		{"huge block index", func(f *weights.File) { f.Tensors["encoder.layer.999999999.norm1.weight"] = tensor.New(48) },
			[]string{"block 2 is missing"}},
		{"pos grid", func(f *weights.File) { f.Tensors["embeddings.position_embeddings"] = tensor.New(1, 27, 48) },
			[]string{`"embeddings.position_embeddings" has shape [1 27 48]`}},
		{"nan", func(f *weights.File) { f.Tensors["layernorm.bias"].Data[7] = float32(math.NaN()) },
			[]string{`"layernorm.bias" holds a non-finite value`}},
		{"not dinov2", func(f *weights.File) { delete(f.Tensors, "embeddings.patch_embeddings.projection.weight") },
			[]string{"not a DINOv2 backbone"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := readFixture(t)
			tc.edit(f)
			_, err := FromFile(f, Options{Heads: 3})
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range tc.substr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	m, err := Load(fixtureDir+"weights.safetensors", Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := kernels.NewReference()
	if _, err := m.Features(b, make([]float32, 3*100*100), 100); err == nil || !strings.Contains(err.Error(), "multiple of the patch size 14") {
		t.Errorf("S = 100: error %v", err)
	}
	if _, err := m.Features(b, nil, 14*(MaxGrid+1)); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("S = %d: error %v", 14*(MaxGrid+1), err)
	}
	if _, err := m.Features(b, make([]float32, 3*98*97), 98); err == nil {
		t.Error("short pixel slice: no error")
	}
	px := make([]float32, 3*28*28)
	px[5] = float32(math.Inf(1))
	if _, err := m.Features(b, px, 28); err == nil || !strings.Contains(err.Error(), "+Inf") {
		t.Errorf("Inf pixel: error %v", err)
	}
	if _, err := Load(fixtureDir+"missing.safetensors", Options{}); err == nil {
		t.Error("missing file: no error")
	}
}

// Register tokens (reg4 variants) and the trained-size shortcut, checked against a
// literal float64 transcription of the DINOv2 forward.
func TestRegistersAgainstOracle(t *testing.T) {
	const c, depth, grid, regs = 32, 2, 3, 4
	f := randomHF(7, c, depth, grid, 14, regs)
	m, err := FromFile(f, Options{Heads: 2})
	if err != nil {
		t.Fatal(err)
	}
	b := kernels.NewReference()
	for _, size := range []int{42, 70} { // G = 3 (trained grid: no interpolation) and 5
		px := tensor.New(3, size, size)
		for i := range px.Data {
			px.Data[i] = float32(math.Sin(float64(i) * 0.37))
		}
		got, err := m.Features(b, px.Data, size)
		if err != nil {
			t.Fatal(err)
		}
		want := oracle(f, 2, regs, px.Data, size)
		t.Run(fmt.Sprint(size), func(t *testing.T) { compareFeatures(t, got, want, 2e-5, 1-1e-9) })
	}
}

// oracle is a literal float64 DINOv2 forward over Hugging Face names.
func oracle(f *weights.File, heads, regs int, px []float32, size int) *tensor.Dense {
	T := func(n string) []float32 { return f.Tensors[n].Data }
	pw := f.Tensors["embeddings.patch_embeddings.projection.weight"]
	c, p := pw.Shape[0], pw.Shape[2]
	g := size / p
	pos := T("embeddings.position_embeddings")
	gt := int(math.Sqrt(float64(len(pos)/c - 1)))
	// Position grid: PyTorch bicubic (a = −0.75), scale (g+0.1)/gt, unless g == gt.
	posAt := func(y, x, ch int) float64 {
		if g == gt {
			return float64(pos[(1+y*gt+x)*c+ch])
		}
		sc := (float64(g) + 0.1) / float64(gt)
		cubic := func(d float64) float64 {
			d = math.Abs(d)
			const a = -0.75
			if d <= 1 {
				return (a+2)*d*d*d - (a+3)*d*d + 1
			} else if d < 2 {
				return a*d*d*d - 5*a*d*d + 8*a*d - 4*a
			}
			return 0
		}
		sy, sx := (float64(y)+0.5)/sc-0.5, (float64(x)+0.5)/sc-0.5
		fy, fx := math.Floor(sy), math.Floor(sx)
		var s float64
		for i := -1; i <= 2; i++ {
			for j := -1; j <= 2; j++ {
				yy := min(max(int(fy)+i, 0), gt-1)
				xx := min(max(int(fx)+j, 0), gt-1)
				s += cubic(sy-(fy+float64(i))) * cubic(sx-(fx+float64(j))) * float64(pos[(1+yy*gt+xx)*c+ch])
			}
		}
		return s
	}
	var x [][]float64
	cls := make([]float64, c)
	for ch := range c {
		cls[ch] = float64(T("embeddings.cls_token")[ch] + pos[ch])
	}
	x = append(x, cls)
	for r := range regs {
		row := make([]float64, c)
		for ch := range c {
			row[ch] = float64(T("embeddings.register_tokens")[r*c+ch])
		}
		x = append(x, row)
	}
	for gy := range g {
		for gx := range g {
			row := make([]float64, c)
			for o := range c {
				s := float64(T("embeddings.patch_embeddings.projection.bias")[o])
				for ch := range 3 {
					for ky := range p {
						for kx := range p {
							s += float64(pw.Data[((o*3+ch)*p+ky)*p+kx]) * float64(px[(ch*size+gy*p+ky)*size+gx*p+kx])
						}
					}
				}
				row[o] = s + posAt(gy, gx, o)
			}
			x = append(x, row)
		}
	}
	ln := func(v []float64, w, bias []float32) []float64 {
		var mean, vr float64
		for _, e := range v {
			mean += e
		}
		mean /= float64(len(v))
		for _, e := range v {
			vr += (e - mean) * (e - mean)
		}
		out := make([]float64, len(v))
		for i, e := range v {
			out[i] = (e-mean)/math.Sqrt(vr/float64(len(v))+1e-6)*float64(w[i]) + float64(bias[i])
		}
		return out
	}
	linear := func(v []float64, w, bias []float32) []float64 {
		out := make([]float64, len(bias))
		for o := range out {
			s := float64(bias[o])
			for i, e := range v {
				s += float64(w[o*len(v)+i]) * e
			}
			out[o] = s
		}
		return out
	}
	for l := 0; ; l++ {
		pre := fmt.Sprintf("encoder.layer.%d.", l)
		if _, ok := f.Tensors[pre+"norm1.weight"]; !ok {
			break
		}
		n := len(x)
		q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
		for i := range x {
			h := ln(x[i], T(pre+"norm1.weight"), T(pre+"norm1.bias"))
			a := pre + "attention.attention."
			q[i], k[i], v[i] = linear(h, T(a+"query.weight"), T(a+"query.bias")), linear(h, T(a+"key.weight"), T(a+"key.bias")), linear(h, T(a+"value.weight"), T(a+"value.bias"))
		}
		dh := c / heads
		outs := make([][]float64, n)
		for i := range x {
			att := make([]float64, c)
			for hd := range heads {
				logit := make([]float64, n)
				mx := math.Inf(-1)
				for j := range n {
					for d := range dh {
						logit[j] += q[i][hd*dh+d] * k[j][hd*dh+d]
					}
					logit[j] /= math.Sqrt(float64(dh))
					mx = math.Max(mx, logit[j])
				}
				var z float64
				for j := range n {
					logit[j] = math.Exp(logit[j] - mx)
					z += logit[j]
				}
				for j := range n {
					for d := range dh {
						att[hd*dh+d] += logit[j] / z * v[j][hd*dh+d]
					}
				}
			}
			outs[i] = linear(att, T(pre+"attention.output.dense.weight"), T(pre+"attention.output.dense.bias"))
		}
		for i := range x {
			for ch := range c {
				x[i][ch] += float64(T(pre + "layer_scale1.lambda1")[ch]) * outs[i][ch]
			}
			h := ln(x[i], T(pre+"norm2.weight"), T(pre+"norm2.bias"))
			mid := linear(h, T(pre+"mlp.fc1.weight"), T(pre+"mlp.fc1.bias"))
			for j, e := range mid {
				mid[j] = 0.5 * e * (1 + math.Erf(e/math.Sqrt2))
			}
			o := linear(mid, T(pre+"mlp.fc2.weight"), T(pre+"mlp.fc2.bias"))
			for ch := range c {
				x[i][ch] += float64(T(pre + "layer_scale2.lambda1")[ch]) * o[ch]
			}
		}
	}
	out := tensor.New(g*g, c)
	for i := range g * g {
		for ch, e := range ln(x[1+regs+i], T("layernorm.weight"), T("layernorm.bias")) {
			out.Data[i*c+ch] = float32(e)
		}
	}
	return out
}

// The official checkpoints (a torch.save state dict with torch-hub names, and the
// TorchScript trace of the authors' model holding the same backbone under
// "inner.vision_encoder.") load, and give the same features.
func TestOfficialCheckpoints(t *testing.T) {
	const dir = "../../../shared/fixtures/official-checkpoints/"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("official checkpoints not available (%v): they live in ../shared/fixtures, outside the repository", err)
	}
	pth, err := Load(dir+"hub_state_dict_vits_1block.pth", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Naming: "torch-hub", Width: 384, Depth: 1, Heads: 6, Patch: 14, PosGrid: 5}
	if pth.Config != want {
		t.Errorf("state dict config %+v, want %+v", pth.Config, want)
	}
	ts, err := Load(dir+"trace_tiny.pt", Options{})
	if err != nil {
		t.Fatal(err)
	}
	want.Prefix = "inner.vision_encoder."
	if ts.Config != want {
		t.Errorf("TorchScript config %+v, want %+v", ts.Config, want)
	}
	io, err := weights.ReadSafetensors(dir + "trace_tiny_io.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	b := cpu.New()
	px := io.Tensors["query_image"].Data
	f1, err := pth.Features(b, px, 112)
	if err != nil {
		t.Fatal(err)
	}
	f2, err := ts.Features(b, px, 112)
	if err != nil {
		t.Fatal(err)
	}
	compareFeatures(t, f2, f1, 0, 1-1e-12)
}

// The FLOP count of ViT-S/14 at 448, by hand: patch embedding 2·1024·384·588, and per
// block (T = 1025) qkv 2·T·384·1152, attention 2·2·T²·384, output 2·T·384², MLP 2·2·T·384·1536.
func TestFLOPs(t *testing.T) {
	cfg := Config{Width: 384, Depth: 12, Heads: 6, Patch: 14, PosGrid: 37}
	const T = 1025.0
	want := 2*1024*384*588.0 + 12*(2*T*384*1152+4*T*T*384+2*T*384*384+4*T*384*1536)
	if got := cfg.FLOPs(448); got != want {
		t.Errorf("FLOPs(448) = %g, want %g", got, want)
	}
	t.Logf("ViT-S/14 at 448: %.2f GFLOP", want/1e9)
}

// countingBackend counts the tensors a backend is asked to create.
type countingBackend struct {
	kernels.Backend
	created int
}

func (c *countingBackend) Upload(d []float32, shape ...int) kernels.Tensor {
	c.created++
	return c.Backend.Upload(d, shape...)
}

func (c *countingBackend) Zeros(shape ...int) kernels.Tensor {
	c.created++
	return c.Backend.Zeros(shape...)
}

// After the first forward at a size, a forward creates one tensor only: the image.
func TestWorkspaceReuse(t *testing.T) {
	m, err := Load(fixtureDir+"weights.safetensors", Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := &countingBackend{Backend: kernels.NewReference()}
	for _, size := range []int{98, 42, 98, 42} {
		before := b.created
		if _, err := m.Features(b, make([]float32, 3*size*size), size); err != nil {
			t.Fatal(err)
		}
		t.Logf("S = %d: %d tensors created", size, b.created-before)
	}
	before := b.created
	if _, err := m.Features(b, make([]float32, 3*98*98), 98); err != nil {
		t.Fatal(err)
	}
	if n := b.created - before; n != 1 {
		t.Errorf("a repeated forward created %d tensors, want 1 (the image)", n)
	}
}
