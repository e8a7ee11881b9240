package imaging

import "image"

// JPEG colour: Go's image/jpeg returns the Y, Cb and Cr planes as decoded (its
// integer IDCT gives the same samples as libjpeg's default "islow" one), but converts
// to RGB with nearest-neighbour chroma and slightly different constants. PIL uses
// libjpeg(-turbo), which up-samples 4:2:0, 4:2:2 and 4:4:0 chroma with a triangle
// ("fancy") filter and converts with 16-bit fixed-point tables. fromYCbCr re-does
// those two steps the libjpeg way so that colour JPEGs decode as they do in PIL.

// libjpeg's YCbCr → RGB tables (jdcolor.c), SCALEBITS = 16.
var yccTables = func() (t struct{ crR, cbB, crG, cbG [256]int32 }) {
	const half = 1 << 15
	fix := func(x float64) int32 { return int32(x*(1<<16) + 0.5) }
	for i := range 256 {
		x := int32(i - 128)
		t.crR[i] = (fix(1.40200)*x + half) >> 16
		t.cbB[i] = (fix(1.77200)*x + half) >> 16
		t.crG[i] = -fix(0.71414) * x
		t.cbG[i] = -fix(0.34414)*x + half
	}
	return t
}()

func clamp255(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// fromYCbCr converts a decoded JPEG to RGB as libjpeg-turbo does by default.
func fromYCbCr(src *image.YCbCr) *RGB {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	var cb, cr []uint8 // full-resolution chroma, w×h
	switch src.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		cb, cr = plane(src.Cb, src.CStride, b, w, h), plane(src.Cr, src.CStride, b, w, h)
	case image.YCbCrSubsampleRatio422:
		cw, ch := (w+1)/2, h
		cb = fancyH2V1(plane(src.Cb, src.CStride, b, cw, ch), cw, ch, w)
		cr = fancyH2V1(plane(src.Cr, src.CStride, b, cw, ch), cw, ch, w)
	case image.YCbCrSubsampleRatio420:
		cw, ch := (w+1)/2, (h+1)/2
		cb = fancyH2V2(plane(src.Cb, src.CStride, b, cw, ch), cw, ch, w, h)
		cr = fancyH2V2(plane(src.Cr, src.CStride, b, cw, ch), cw, ch, w, h)
	case image.YCbCrSubsampleRatio440:
		cw, ch := w, (h+1)/2
		cb = fancyH1V2(plane(src.Cb, src.CStride, b, cw, ch), cw, ch, h)
		cr = fancyH1V2(plane(src.Cr, src.CStride, b, cw, ch), cw, ch, h)
	default: // 4:1:1 and 4:1:0: libjpeg replicates samples, as YCbCrAt does
		cb, cr = make([]uint8, w*h), make([]uint8, w*h)
		for y := range h {
			for x := range w {
				o := src.COffset(b.Min.X+x, b.Min.Y+y)
				cb[y*w+x], cr[y*w+x] = src.Cb[o], src.Cr[o]
			}
		}
	}
	out := NewRGB(w, h)
	t := &yccTables
	for y := range h {
		yrow := src.Y[(y)*src.YStride:]
		for x := range w {
			yy := int32(yrow[x])
			i := y*w + x
			cbv, crv := cb[i], cr[i]
			p := out.Pix[3*i : 3*i+3]
			p[0] = clamp255(yy + t.crR[crv])
			p[1] = clamp255(yy + (t.cbG[cbv]+t.crG[crv])>>16)
			p[2] = clamp255(yy + t.cbB[cbv])
		}
	}
	return out
}

// plane copies the top-left cw×ch samples of a chroma plane into a dense slice. The
// decoder's images start at (0, 0), so no offset is needed.
func plane(p []uint8, stride int, b image.Rectangle, cw, ch int) []uint8 {
	if b.Min != (image.Point{}) {
		panic("imaging: JPEG image does not start at the origin")
	}
	out := make([]uint8, cw*ch)
	for y := range ch {
		copy(out[y*cw:(y+1)*cw], p[y*stride:])
	}
	return out
}

// fancyRow doubles a row horizontally with libjpeg's triangle filter: each output is
// ¾ of the nearer input plus ¼ of the other neighbour. sums holds 4× (h2v1) or 16×
// (h2v2, column sums of 3·near + far rows) the samples; the rounding biases alternate
// as in libjpeg. The output has 2·len(sums) samples, cropped to w.
func fancyRow(dst []uint8, sums []int32, shift uint, biasOdd, biasEven int32, w int) {
	n := len(sums)
	put := func(i int, v int32) {
		if i < w {
			dst[i] = uint8(v >> shift)
		}
	}
	if n == 1 {
		put(0, sums[0]*4+biasEven)
		put(1, sums[0]*4+biasOdd)
		return
	}
	put(0, sums[0]*4+biasEven)
	put(1, sums[0]*3+sums[1]+biasOdd)
	for c := 1; c < n-1; c++ {
		put(2*c, sums[c]*3+sums[c-1]+biasEven)
		put(2*c+1, sums[c]*3+sums[c+1]+biasOdd)
	}
	put(2*n-2, sums[n-1]*3+sums[n-2]+biasEven)
	put(2*n-1, sums[n-1]*4+biasOdd)
}

// fancyH2V1 is libjpeg's h2v1_fancy_upsample (4:2:2): (3·near + far + 1 or 2) >> 2,
// edge samples copied.
func fancyH2V1(c []uint8, cw, ch, w int) []uint8 {
	out := make([]uint8, w*ch)
	sums := make([]int32, cw)
	for y := range ch {
		for x := range cw {
			sums[x] = int32(c[y*cw+x])
		}
		// (4v + 2) >> 2 = v at the edges, as libjpeg copies them.
		fancyRow(out[y*w:(y+1)*w], sums, 2, 2, 1, w)
	}
	return out
}

// fancyH2V2 is libjpeg's h2v2_fancy_upsample (4:2:0): vertical 3:1 column sums with
// the nearer neighbouring chroma row (edge rows repeated), then the horizontal
// triangle, rounding biases 8 and 7.
func fancyH2V2(c []uint8, cw, ch, w, h int) []uint8 {
	out := make([]uint8, w*h)
	sums := make([]int32, cw)
	for y := range h {
		cy := y / 2
		ny := cy - 1 // upper output row of the pair looks up
		if y%2 == 1 {
			ny = cy + 1
		}
		ny = min(max(ny, 0), ch-1)
		for x := range cw {
			sums[x] = 3*int32(c[cy*cw+x]) + int32(c[ny*cw+x])
		}
		fancyRow(out[y*w:(y+1)*w], sums, 4, 7, 8, w)
	}
	return out
}

// fancyH1V2 is libjpeg-turbo's h1v2_fancy_upsample (4:4:0): (3·near + far + bias) >> 2
// with bias 1 for the upper and 2 for the lower row of each pair.
func fancyH1V2(c []uint8, cw, ch, h int) []uint8 {
	out := make([]uint8, cw*h)
	for y := range h {
		cy := y / 2
		ny, bias := cy-1, int32(1)
		if y%2 == 1 {
			ny, bias = cy+1, 2
		}
		ny = min(max(ny, 0), ch-1)
		for x := range cw {
			out[y*cw+x] = uint8((3*int32(c[cy*cw+x]) + int32(c[ny*cw+x]) + bias) >> 2)
		}
	}
	return out
}
