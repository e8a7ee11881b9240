package engine

import (
	"math"
	"testing"
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
