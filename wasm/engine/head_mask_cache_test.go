package engine

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

// safetensorsBytes writes tensors as a safetensors file in a temporary folder and returns its bytes.
func safetensorsBytes(t *testing.T, tensors map[string]*tensor.Dense, md map[string]string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.safetensors")
	if err := weights.WriteSafetensors(p, tensors, md); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHeadFromBytes(t *testing.T) {
	// The fixture head reads the same from bytes as head.ReadFile reads it from its file.
	const fixture = "../../testdata/fixtures/ideal-head-g8/head.safetensors"
	want, err := head.Load(fixture, "")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	got, err := HeadFromBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config != want.Config || len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("config %+v, %d tensors; want %+v, %d", got.Config, len(got.Tensors), want.Config, len(want.Tensors))
	}
	for name, w := range want.Tensors {
		if g := got.Tensors[name]; g == nil || !slices.Equal(g.Shape, w.Shape) || !slices.Equal(g.Data, w.Data) {
			t.Errorf("tensor %s differs", name)
		}
	}

	s, err := NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hw, err := head.Init(DemoWidth, 45, 7)
	if err != nil {
		t.Fatal(err)
	}
	good := safetensorsBytes(t, hw.Tensors, hw.Metadata())
	w, err := HeadFromBytes(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetHead(w); err != nil {
		t.Fatal(err)
	}
	if cur, demo := s.Head(); demo || cur.M() != 45 {
		t.Errorf("after SetHead: demo %v, M = %d; want a 45-vector head", demo, cur.M())
	}

	wide, _ := head.Init(2*DemoWidth, 16, 1)
	wrongShape := map[string]*tensor.Dense{}
	for k, v := range hw.Tensors {
		wrongShape[k] = v
	}
	wrongShape[head.NameFC1B] = tensor.New(3 * DemoWidth)
	missing := map[string]*tensor.Dense{}
	for k, v := range hw.Tensors {
		if k != head.NameNormOutB {
			missing[k] = v
		}
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"junk", []byte("this is not a weight file"), "engine: head:"},
		{"truncated", good[:len(good)/2], "engine: head:"},
		{"empty", nil, "engine: head:"},
		{"a backbone file", safetensorsBytes(t, DemoBackbone().Tensors, nil), "not an IDEAL head"},
		{"wrong shape", safetensorsBytes(t, wrongShape, nil), head.NameFC1B},
		{"missing tensor", safetensorsBytes(t, missing, nil), head.NameNormOutB},
	} {
		if _, err := HeadFromBytes(c.data); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	// A head of another width than the backbone's is refused, naming both widths, and
	// the session keeps its head.
	w, err = HeadFromBytes(safetensorsBytes(t, wide.Tensors, wide.Metadata()))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetHead(w); err == nil || !strings.Contains(err.Error(), "128") || !strings.Contains(err.Error(), "64") {
		t.Errorf("a 128-wide head on a 64-wide backbone: %v", err)
	}
	if cur, _ := s.Head(); cur.M() != 45 {
		t.Errorf("after a refused head the session's head has M = %d, want the previous 45", cur.M())
	}
	if err := s.SetHead(nil); err != nil {
		t.Fatal(err)
	}
	if _, demo := s.Head(); !demo {
		t.Error("SetHead(nil) did not restore the demo head")
	}
}

// TestMaskFromRGBA: a painted canvas (alpha ≠ 0 = defect, whatever the colour) gives the
// same patch mask as imaging.ReadMask of the equivalent PNG (white where painted), for a
// non-square image of a size that is not a multiple of the patch.
func TestMaskFromRGBA(t *testing.T) {
	const w, h, size, patch = 203, 150, 224, 14
	rng := rand.New(rand.NewPCG(3, 4))
	rgba := make([]byte, 4*w*h)
	grey := image.NewGray(image.Rect(0, 0, w, h))
	painted := 0
	for i := range w * h {
		x, y := i%w, i/w
		in := math.Hypot(float64(x-60), float64(y-90)) < 25 || (x >= 150 && x < 158 && y >= 10 && y < 13) || rng.IntN(400) == 0
		rgba[4*i], rgba[4*i+1], rgba[4*i+2] = byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))
		if in {
			rgba[4*i+3] = byte(1 + rng.IntN(255))
			grey.Pix[i] = 255
			painted++
		}
	}
	if painted == 0 {
		t.Fatal("nothing painted")
	}
	m, err := MaskFromRGBA(w, h, rgba)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, grey); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "mask.png")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ref, err := imaging.ReadMask(p)
	if err != nil {
		t.Fatal(err)
	}
	if m.W != ref.W || m.H != ref.H || !slices.Equal(m.Pix, ref.Pix) {
		t.Fatalf("painted mask %d×%d differs from the PNG's %d×%d", m.W, m.H, ref.W, ref.H)
	}
	got := imaging.PatchMask(m.ResizeNearest(size, size), patch)
	want := imaging.PatchMask(ref.ResizeNearest(size, size), patch)
	if !slices.Equal(got, want) {
		t.Fatal("patch masks differ")
	}
	// The bits the page starts painting from read the PNG as imaging does.
	bw, bh, bits, err := DecodeMaskBits(buf.Bytes())
	if err != nil || bw != w || bh != h {
		t.Fatalf("DecodeMaskBits: %d×%d, %v", bw, bh, err)
	}
	for i, v := range ref.Pix {
		if (bits[i] == 1) != v {
			t.Fatalf("DecodeMaskBits: pixel %d is %d, the mask %v", i, bits[i], v)
		}
	}
	for _, c := range []struct {
		w, h, n int
	}{{w, h, 4*w*h - 1}, {w, h, 3 * w * h}, {0, h, 0}, {w, -1, 0}} {
		if _, err := MaskFromRGBA(c.w, c.h, make([]byte, c.n)); err == nil {
			t.Errorf("MaskFromRGBA(%d, %d, %d bytes): no error", c.w, c.h, c.n)
		}
	}
	if _, _, _, err := DecodeMaskBits([]byte("no image")); err == nil {
		t.Error("DecodeMaskBits of junk: no error")
	}
}

// paintedMask returns a mask of the sample images' size with a w×h rectangle painted at (x, y).
func paintedMask(x, y, w, h int) *imaging.Mask {
	m := imaging.NewMask(sampleSide, sampleSide)
	for yy := y; yy < y+h; yy++ {
		for xx := x; xx < x+w; xx++ {
			m.Pix[yy*m.W+xx] = true
		}
	}
	return m
}

func scoreAll(t *testing.T, s *Session, queries []SampleImage) []float32 {
	t.Helper()
	var out []float32
	for _, q := range queries {
		r, err := s.Score(q.PNG)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r.ImageScore)
	}
	return out
}

// TestFeatureCache: after the first run, editing the mask and re-scoring runs no
// backbone pass, and gives the scores a fresh session computes for the edited mask.
func TestFeatureCache(t *testing.T) {
	smp := Sample()
	normals, _, _ := sampleInputs(smp)
	s, err := NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first := paintedMask(50, 130, 40, 40)
	if _, err := s.SetReferencesMasks(normals, [][]byte{smp.Abnormal.PNG}, []*imaging.Mask{first}); err != nil {
		t.Fatal(err)
	}
	before := scoreAll(t, s, smp.Queries)
	if want := len(normals) + 1 + len(smp.Queries); s.Forwards() != want {
		t.Fatalf("first run: %d backbone passes, want %d", s.Forwards(), want)
	}
	edited := paintedMask(140, 40, 30, 20)
	if _, err := s.SetReferencesMasks(normals, [][]byte{smp.Abnormal.PNG}, []*imaging.Mask{edited}); err != nil {
		t.Fatal(err)
	}
	after := scoreAll(t, s, smp.Queries)
	if want := len(normals) + 1 + len(smp.Queries); s.Forwards() != want {
		t.Errorf("after the mask edit: %d backbone passes in all, want still %d", s.Forwards(), want)
	}
	if slices.Equal(before, after) {
		t.Errorf("the edited mask gave the same scores %v", after)
	}
	fresh, err := NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if _, err := fresh.SetReferencesMasks(normals, [][]byte{smp.Abnormal.PNG}, []*imaging.Mask{edited}); err != nil {
		t.Fatal(err)
	}
	if want := scoreAll(t, fresh, smp.Queries); !slices.Equal(after, want) {
		t.Errorf("cached session scores %v, fresh session %v", after, want)
	}
	// A new head keeps the cache too.
	if err := s.SetHead(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetReferencesMasks(normals, [][]byte{smp.Abnormal.PNG}, []*imaging.Mask{edited}); err != nil {
		t.Fatal(err)
	}
	scoreAll(t, s, smp.Queries)
	if want := len(normals) + 1 + len(smp.Queries); s.Forwards() != want {
		t.Errorf("after a head change: %d backbone passes in all, want still %d", s.Forwards(), want)
	}
}

// TestEmptyPaintedMask: an empty mask takes the head's documented fallback, with its warning.
func TestEmptyPaintedMask(t *testing.T) {
	smp := Sample()
	normals, _, _ := sampleInputs(smp)
	s, err := NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	warns, err := s.SetReferencesMasks(normals, [][]byte{smp.Abnormal.PNG}, []*imaging.Mask{imaging.NewMask(sampleSide, sampleSide)})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "covers no patch") {
		t.Errorf("warnings %q, want the empty-mask fallback's", warns)
	}
	if _, err := s.SetReferencesMasks(normals, [][]byte{smp.Abnormal.PNG}, []*imaging.Mask{imaging.NewMask(10, 10)}); err == nil {
		t.Error("a 10×10 mask for a 224×224 image: no error")
	}
	if _, err := s.SetReferencesMasks(normals, [][]byte{smp.Abnormal.PNG}, []*imaging.Mask{nil}); err == nil {
		t.Error("a nil mask: no error")
	}
}
