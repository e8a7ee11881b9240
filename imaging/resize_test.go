package imaging

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// TestResizeMatchesPIL compares Resize with PIL's resize(BICUBIC) of the same picture
// to several sizes: down, up, one axis only, unchanged, 1×1 (testdata/gen_fixtures.py).
func TestResizeMatchesPIL(t *testing.T) {
	src, err := LoadRGB(filepath.Join("testdata", "resize_src.png"))
	if err != nil {
		t.Fatal(err)
	}
	sizes := [][2]int{{98, 98}, {14, 14}, {1, 1}, {33, 22}, {67, 20}, {20, 45}, {200, 150}, {67, 45}, {3, 90}, {150, 130}}
	for _, s := range sizes {
		name := fmt.Sprintf("%dx%d", s[0], s[1])
		t.Run(name, func(t *testing.T) {
			want, err := LoadRGB(filepath.Join("testdata", "resize", name+".png"))
			if err != nil {
				t.Fatal(err)
			}
			compareRGB(t, Resize(src, s[0], s[1]), want)
		})
	}
	t.Run("grey up", func(t *testing.T) {
		g, err := LoadRGB(filepath.Join("testdata", "resize_grey_src.png"))
		if err != nil {
			t.Fatal(err)
		}
		want, err := LoadRGB(filepath.Join("testdata", "resize", "grey_37x29.png"))
		if err != nil {
			t.Fatal(err)
		}
		compareRGB(t, Resize(g, 37, 29), want)
	})
}

func compareRGB(t *testing.T, got, want *RGB) {
	t.Helper()
	if got.W != want.W || got.H != want.H {
		t.Fatalf("size %d×%d, want %d×%d", got.W, got.H, want.W, want.H)
	}
	bad := 0
	for i := range got.Pix {
		if got.Pix[i] != want.Pix[i] {
			if bad < 5 {
				t.Errorf("pixel (%d,%d) channel %d: %d, want %d", (i/3)%got.W, (i/3)/got.W, i%3, got.Pix[i], want.Pix[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d samples differ", bad, len(got.Pix))
	}
}

// resizeReference is the naive twin of Resize: a direct, per-sample transcription of
// PIL's two passes (ImagingResampleHorizontal_8bpc / ImagingResampleVertical_8bpc),
// single-threaded, the vertical pass walking down columns.
func resizeReference(img *RGB, w, h int) *RGB {
	cur := img
	if w != img.W {
		c := bicubicCoeffs(img.W, w)
		out := NewRGB(w, cur.H)
		for y := range cur.H {
			for x := range w {
				for ch := range 3 {
					acc := int32(1 << (precisionBits - 1))
					for i := range c.count[x] {
						acc += int32(cur.Pix[3*(y*cur.W+c.first[x]+i)+ch]) * c.k[x*c.ksize+i]
					}
					out.Pix[3*(y*w+x)+ch] = clip8(acc)
				}
			}
		}
		cur = out
	}
	if h != img.H {
		c := bicubicCoeffs(img.H, h)
		out := NewRGB(cur.W, h)
		for y := range h {
			for x := range cur.W {
				for ch := range 3 {
					acc := int32(1 << (precisionBits - 1))
					for i := range c.count[y] {
						acc += int32(cur.Pix[3*((c.first[y]+i)*cur.W+x)+ch]) * c.k[y*c.ksize+i]
					}
					out.Pix[3*(y*cur.W+x)+ch] = clip8(acc)
				}
			}
		}
		cur = out
	}
	if cur == img {
		cur = img.Clone()
	}
	return cur
}

func randomRGB(r *rand.Rand, w, h int) *RGB {
	img := NewRGB(w, h)
	for i := range img.Pix {
		img.Pix[i] = uint8(r.IntN(256))
	}
	return img
}

// TestResizeParity checks the fast Resize against its naive twin on awkward sizes,
// including ones large enough to run the passes on several goroutines.
func TestResizeParity(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := [][4]int{{1, 1, 5, 7}, {63, 64, 65, 1}, {257, 129, 98, 98}, {1025, 300, 448, 257}, {40, 30, 1025, 65}, {300, 300, 300, 301}}
	for _, c := range cases {
		src := randomRGB(r, c[0], c[1])
		got, want := Resize(src, c[2], c[3]), resizeReference(src, c[2], c[3])
		t.Run(fmt.Sprintf("%dx%d→%dx%d", c[0], c[1], c[2], c[3]), func(t *testing.T) { compareRGB(t, got, want) })
	}
}

// TestResizeCoefficientSums checks that PIL's rounding keeps every tap set summing to
// 1.0 in fixed point within the rounding of its taps, for many scale factors.
func TestResizeCoefficientSums(t *testing.T) {
	for in := 1; in < 80; in += 7 {
		for out := 1; out < 80; out += 5 {
			c := bicubicCoeffs(in, out)
			for x := range out {
				var s int64
				for _, k := range c.k[x*c.ksize : x*c.ksize+c.count[x]] {
					s += int64(k)
				}
				if d := s - 1<<precisionBits; d > int64(c.count[x]) || -d > int64(c.count[x]) {
					t.Fatalf("%d→%d output %d: taps sum to %d, want %d ± %d", in, out, x, s, 1<<precisionBits, c.count[x])
				}
			}
		}
	}
}

// Benchmarks: a 1024×1024 picture to 448×448, the DINOv2 input size, fast and naive.
func BenchmarkResize1024To448(b *testing.B) {
	src := randomRGB(rand.New(rand.NewPCG(3, 4)), 1024, 1024)
	b.SetBytes(int64(len(src.Pix)))
	for b.Loop() {
		Resize(src, 448, 448)
	}
}

func BenchmarkResize1024To448Naive(b *testing.B) {
	src := randomRGB(rand.New(rand.NewPCG(3, 4)), 1024, 1024)
	b.SetBytes(int64(len(src.Pix)))
	for b.Loop() {
		resizeReference(src, 448, 448)
	}
}
