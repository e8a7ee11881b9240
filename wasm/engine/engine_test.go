package engine

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/cpu"
)

func TestDemoSampleScoresDefectHigher(t *testing.T) {
	s, err := NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	smp := Sample()
	var normals [][]byte
	for _, n := range smp.Normals {
		normals = append(normals, n.PNG)
	}
	if _, err := s.SetReferences(normals, [][]byte{smp.Abnormal.PNG}, [][]byte{smp.Mask.PNG}); err != nil {
		t.Fatal(err)
	}
	var scores []float32
	for _, q := range smp.Queries {
		r, err := s.Score(q.PNG)
		if err != nil {
			t.Fatal(err)
		}
		if r.Grid != DemoSize/14 || len(r.Map) != r.Grid*r.Grid || len(r.OverlayPNG) == 0 {
			t.Fatalf("%s: grid %d, map %d, overlay %d bytes", q.Name, r.Grid, len(r.Map), len(r.OverlayPNG))
		}
		if math.IsNaN(float64(r.ImageScore)) {
			t.Fatalf("%s: NaN score", q.Name)
		}
		scores = append(scores, r.ImageScore)
	}
	if scores[1] <= scores[0] {
		t.Errorf("defect query scored %v, not above the good query %v", scores[1], scores[0])
	}
}

func TestBadInputs(t *testing.T) {
	s, err := NewDemo()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Score(Sample().Queries[0].PNG); err == nil {
		t.Error("scoring before references: no error")
	}
	if _, err := s.SetReferences([][]byte{[]byte("not an image")}, nil, nil); err == nil {
		t.Error("corrupt normal: no error")
	}
	if _, err := s.SetReferences(nil, [][]byte{Sample().Abnormal.PNG}, nil); err == nil {
		t.Error("abnormal without mask: no error")
	}
	if _, err := NewFromBytes([]byte("junk"), 224); err == nil {
		t.Error("junk backbone: no error")
	}
}

func sampleInputs(smp *SampleSet) (normals, abnormals, masks [][]byte) {
	for _, n := range smp.Normals {
		normals = append(normals, n.PNG)
	}
	return normals, [][]byte{smp.Abnormal.PNG}, [][]byte{smp.Mask.PNG}
}

// TestWithBackend: a session on a given backend scores as package ideal does on it, bit
// for bit, and leaves the backend open.
func TestWithBackend(t *testing.T) {
	be := cpu.New(cpu.WithThreads(2))
	defer be.Close()
	s, err := NewDemo(WithBackend(be))
	if err != nil {
		t.Fatal(err)
	}
	smp := Sample()
	normals, abnormals, masks := sampleInputs(smp)
	if _, err := s.SetReferences(normals, abnormals, masks); err != nil {
		t.Fatal(err)
	}
	got, err := s.Score(smp.Queries[1].PNG)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	hw, err := DemoHead(DemoWidth)
	if err != nil {
		t.Fatal(err)
	}
	det, err := ideal.New(ideal.Options{BackboneWeights: DemoBackbone(), HeadWeights: hw, Size: DemoSize, Backend: be})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	ctx := context.Background()
	refs := ideal.Refs{Abnormal: []ideal.Abnormal{{Input: ideal.Bytes("abnormal", abnormals[0]), MaskPath: writeTemp(t, masks[0])}}}
	for _, n := range normals {
		refs.Normal = append(refs.Normal, ideal.Bytes("normal", n))
	}
	ep, err := det.Episode(ctx, refs)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	want, err := ep.Score(ctx, ideal.Bytes("query", smp.Queries[1].PNG))
	if err != nil {
		t.Fatal(err)
	}
	if got.ImageScore != want.ImageScore || !slices.Equal(got.Map, want.Map) {
		t.Errorf("engine score %v, package ideal %v (or the maps differ)", got.ImageScore, want.ImageScore)
	}
}

func writeTemp(t *testing.T, data []byte) string {
	p := filepath.Join(t.TempDir(), "mask.png")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
