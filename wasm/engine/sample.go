package engine

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
)

// SampleImage is one named PNG of the built-in sample.
type SampleImage struct {
	Name string
	PNG  []byte
}

// SampleSet is the built-in sample: synthetic striped "fabric" images, normal ones and
// ones with a dark round defect.
type SampleSet struct {
	Normals  []SampleImage
	Abnormal SampleImage
	Mask     SampleImage
	Queries  []SampleImage
}

const sampleSide = 224

// Sample returns the built-in sample; the same every call.
func Sample() *SampleSet {
	s := &SampleSet{}
	for i := range 3 {
		s.Normals = append(s.Normals, SampleImage{"normal" + string(rune('1'+i)) + ".png", sampleImage(uint64(i), nil)})
	}
	d := &defect{x: 70, y: 150, r: 22}
	s.Abnormal = SampleImage{"abnormal.png", sampleImage(10, d)}
	s.Mask = SampleImage{"abnormal_mask.png", maskImage(d)}
	s.Queries = []SampleImage{
		{"query_good.png", sampleImage(20, nil)},
		{"query_defect.png", sampleImage(21, &defect{x: 150, y: 60, r: 26})},
	}
	return s
}

type defect struct{ x, y, r float64 }

func (d *defect) in(x, y int) bool {
	return d != nil && math.Hypot(float64(x)-d.x, float64(y)-d.y) <= d.r
}

func encodePNG(img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err) // an in-memory PNG of a valid image cannot fail
	}
	return b.Bytes()
}

func sampleImage(seed uint64, d *defect) []byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	phase := rng.Float64() * 2 * math.Pi
	img := image.NewRGBA(image.Rect(0, 0, sampleSide, sampleSide))
	for y := range sampleSide {
		for x := range sampleSide {
			v := 150 + 40*math.Sin(float64(x+y)/6+phase) + 12*rng.NormFloat64()
			c := color.RGBA{uint8(max(0, min(255, v))), uint8(max(0, min(255, v*0.9))), uint8(max(0, min(255, v*0.7))), 255}
			if d.in(x, y) {
				c = color.RGBA{40, 25, 20, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return encodePNG(img)
}

func maskImage(d *defect) []byte {
	img := image.NewGray(image.Rect(0, 0, sampleSide, sampleSide))
	for y := range sampleSide {
		for x := range sampleSide {
			if d.in(x, y) {
				img.Pix[y*img.Stride+x] = 255
			}
		}
	}
	return encodePNG(img)
}
