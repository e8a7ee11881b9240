package imaging

import (
	"fmt"
	"math"
	"runtime"
	"sync"
)

// precisionBits is PIL's fixed-point precision for 8-bit resampling: 32 bits minus 8
// for the pixel value and 2 for the overshoot of kernels with negative lobes.
const precisionBits = 32 - 8 - 2

// bicubicSupport is the half-width of the cubic kernel at scale 1.
const bicubicSupport = 2.0

// bicubic is Keys' cubic convolution kernel with a = -0.5, evaluated exactly as PIL
// does (the float64 conversions stop the compiler from fusing multiply-adds, which
// would change the last bits of the coefficients).
func bicubic(x float64) float64 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		t := float64(float64((a+2)*x) - (a + 3))
		return float64(float64(t*x)*x) + 1
	}
	if x < 2 {
		t := float64(float64(float64(float64(x-5)*x)+8)*x) - 4
		return float64(t * a)
	}
	return 0
}

// resampleCoeffs are the fixed-point filter taps of one resampling axis: output
// position i reads count[i] inputs starting at first[i] with weights
// k[i*ksize : i*ksize+count[i]].
type resampleCoeffs struct {
	ksize        int
	first, count []int
	k            []int32
}

// bicubicCoeffs computes the taps for resampling inSize samples to outSize samples,
// following PIL's precompute_coeffs and normalize_coeffs_8bpc: the kernel is
// stretched by the down-scaling factor (anti-aliasing), the window is rounded to whole
// samples and clipped to the input, the taps are normalised to sum 1 in float64 and
// then rounded half away from zero to 22-bit fixed point.
func bicubicCoeffs(inSize, outSize int) resampleCoeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1.0)
	support := bicubicSupport * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := resampleCoeffs{
		ksize: ksize,
		first: make([]int, outSize),
		count: make([]int, outSize),
		k:     make([]int32, outSize*ksize),
	}
	ss := 1.0 / filterscale
	w := make([]float64, ksize)
	for xx := range outSize {
		center := float64(float64(xx)+0.5) * scale
		xmin := max(int(center-support+0.5), 0) // int() truncates toward zero, as C does
		xmax := min(int(center+support+0.5), inSize)
		n := xmax - xmin
		var ww float64
		for x := range n {
			v := bicubic(float64(float64(float64(x+xmin)-center)+0.5) * ss)
			w[x] = v
			ww += v
		}
		k := c.k[xx*ksize : xx*ksize+n]
		for x := range n {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				k[x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		c.first[xx], c.count[xx] = xmin, n
	}
	return c
}

// clip8 converts a fixed-point accumulator to a byte, clamping to [0, 255].
func clip8(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// Resize resamples img to w×h exactly as PIL's Image.resize((w, h), Image.BICUBIC)
// does for an RGB image (and so as torchvision's Resize(..., BICUBIC) on a PIL
// image): separable cubic convolution (a = -0.5) with the kernel widened by the
// down-scaling factor (anti-aliasing), 22-bit fixed-point taps, the horizontal pass
// first, and rounding with clamping to 8 bits after each pass. A pass whose size does
// not change is skipped. Up-scaling uses the same code. Rows are processed in parallel;
// the result does not depend on the number of goroutines.
func Resize(img *RGB, w, h int) *RGB {
	if w <= 0 || h <= 0 {
		panic(fmt.Sprintf("imaging: Resize to %d×%d", w, h))
	}
	if img.W <= 0 || img.H <= 0 {
		panic(fmt.Sprintf("imaging: Resize of an empty %d×%d image", img.W, img.H))
	}
	cur := img
	if w != img.W {
		cur = resampleHorizontal(cur, bicubicCoeffs(img.W, w))
	}
	if h != img.H {
		cur = resampleVertical(cur, bicubicCoeffs(img.H, h))
	}
	if cur == img {
		cur = img.Clone()
	}
	return cur
}

// parallelRows runs f over [0, n) split into contiguous chunks, one per CPU.
func parallelRows(n int, work int, f func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 || work < 1<<16 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// resampleHorizontal applies c along rows: output pixel x of row y is the weighted
// sum of input pixels first[x]…first[x]+count[x]-1 of row y.
func resampleHorizontal(src *RGB, c resampleCoeffs) *RGB {
	outW := len(c.first)
	dst := NewRGB(outW, src.H)
	parallelRows(src.H, outW*src.H*c.ksize, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			in := src.Pix[3*y*src.W : 3*(y+1)*src.W]
			out := dst.Pix[3*y*outW : 3*(y+1)*outW]
			for x := range outW {
				n := c.count[x]
				k := c.k[x*c.ksize : x*c.ksize+n]
				p := in[3*c.first[x] : 3*(c.first[x]+n)]
				r, g, b := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
				for _, kv := range k {
					r += int32(p[0]) * kv
					g += int32(p[1]) * kv
					b += int32(p[2]) * kv
					p = p[3:]
				}
				out[3*x], out[3*x+1], out[3*x+2] = clip8(r), clip8(g), clip8(b)
			}
		}
	})
	return dst
}

// resampleVertical applies c along columns. Each output row accumulates whole input
// rows (contiguous memory) into a row of int32 sums.
func resampleVertical(src *RGB, c resampleCoeffs) *RGB {
	outH := len(c.first)
	dst := NewRGB(src.W, outH)
	rowLen := 3 * src.W
	parallelRows(outH, rowLen*outH*c.ksize, func(lo, hi int) {
		acc := make([]int32, rowLen)
		for y := lo; y < hi; y++ {
			for i := range acc {
				acc[i] = 1 << (precisionBits - 1)
			}
			n := c.count[y]
			for i, kv := range c.k[y*c.ksize : y*c.ksize+n] {
				row := src.Pix[(c.first[y]+i)*rowLen : (c.first[y]+i+1)*rowLen]
				row = row[:len(acc)]
				for j, v := range row {
					acc[j] += int32(v) * kv
				}
			}
			out := dst.Pix[y*rowLen : (y+1)*rowLen]
			for j, v := range acc {
				out[j] = clip8(v)
			}
		}
	})
	return dst
}
