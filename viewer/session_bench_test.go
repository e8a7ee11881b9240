package viewer

import (
	"image"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/weights"
)

// viTSCase writes a ViT-S/14-shaped case at 448 (G = 32): a seeded random backbone
// (the shapes of the real one, not its weights), a fresh head, 1 normal and 1 abnormal
// reference and n queries.
func viTSCase(b *testing.B, n int) Inputs {
	b.Helper()
	dir := b.TempDir()
	bb := filepath.Join(dir, "vits.safetensors")
	if err := weights.WriteSafetensors(bb, dinov2.RandomWeights(384, 12, 14, 37, 1), map[string]string{"num_attention_heads": "6"}); err != nil {
		b.Fatal(err)
	}
	hw, err := head.Init(384, head.DefaultVectors, 1)
	if err != nil {
		b.Fatal(err)
	}
	hp := filepath.Join(dir, "head.safetensors")
	if err := hw.WriteFile(hp); err != nil {
		b.Fatal(err)
	}
	write := func(name string, img image.Image) string {
		p := filepath.Join(dir, name)
		if err := imaging.WritePNG(p, img); err != nil {
			b.Fatal(err)
		}
		return p
	}
	abn := image.Rect(16, 72, 48, 104)
	mask := image.NewGray(image.Rect(0, 0, 128, 128))
	for y := abn.Min.Y; y < abn.Max.Y; y++ {
		for x := abn.Min.X; x < abn.Max.X; x++ {
			mask.Pix[y*128+x] = 255
		}
	}
	in := Inputs{Backbone: bb, Head: hp, Size: 448, Normal: []string{write("n.png", texture())},
		Abnormal: []Ref{{Path: write("a.png", texture(abn)), Mask: write("a_mask.png", mask)}}}
	for i := range n {
		in.Queries = append(in.Queries, write("q"+strconv.Itoa(i)+".png", texture(image.Rect(8*i, 8*i, 8*i+24, 8*i+24))))
	}
	return in
}

// editedMask is the abnormal reference's mask with a square at (x, x) added.
func editedMask(x int) *imaging.Mask {
	m := imaging.NewMask(128, 128)
	for y := 72; y < 104; y++ {
		for xx := 16; xx < 48; xx++ {
			m.Pix[y*128+xx] = true
		}
	}
	for y := x; y < x+16; y++ {
		for xx := x; xx < x+16; xx++ {
			m.Pix[y*128+xx] = true
		}
	}
	return m
}

// BenchmarkRescoreAfterEditViTS448 is what a mask stroke costs in the viewer: the
// references' episode prepared again and 8 queries scored, every feature cached.
func BenchmarkRescoreAfterEditViTS448(b *testing.B) {
	s, err := Open(viTSCase(b, 8))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.Start()
	if p := s.Wait(); p.Err != nil {
		b.Fatal(p.Err)
	}
	i := 0
	for b.Loop() {
		if err := s.SetMask(0, editedMask(8*(i%8))); err != nil {
			b.Fatal(err)
		}
		if p := s.Wait(); p.Err != nil {
			b.Fatal(p.Err)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/8, "ms/query")
}

// BenchmarkRescoreFromScratchViTS448 is the naive twin: the same edit scored by a new
// session, which runs the backbone on all 10 images again.
func BenchmarkRescoreFromScratchViTS448(b *testing.B) {
	in := viTSCase(b, 8)
	for b.Loop() {
		s, err := Open(in)
		if err != nil {
			b.Fatal(err)
		}
		s.Start()
		if p := s.Wait(); p.Err != nil {
			b.Fatal(p.Err)
		}
		s.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)/8, "ms/query")
}
