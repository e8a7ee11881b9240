package imaging

import "fmt"

// ImageNet channel statistics used by DINOv2 (and torchvision's Normalize).
var (
	Mean = [3]float32{0.485, 0.456, 0.406}
	Std  = [3]float32{0.229, 0.224, 0.225}
)

// Normalize returns the image as a CHW float32 tensor (3×H×W, row-major): each byte
// scaled to [0,1] by /255, then (x − Mean[c]) / Std[c], in float32 exactly as
// torchvision's ToTensor followed by Normalize computes it.
func Normalize(img *RGB) []float32 {
	n := img.W * img.H
	out := make([]float32, 3*n)
	for c := range 3 {
		m, s := Mean[c], Std[c]
		plane := out[c*n : (c+1)*n]
		for i := range plane {
			x := float32(img.Pix[3*i+c]) / 255
			plane[i] = (x - m) / s
		}
	}
	return out
}

// Preprocess loads an image file and returns the S×S model input of spec §2 as a
// CHW float32 tensor, with the original width and height (for mapping results back).
func Preprocess(path string, size int) (pixels []float32, origW, origH int, err error) {
	if size <= 0 {
		return nil, 0, 0, fmt.Errorf("imaging: input size %d must be positive", size)
	}
	img, err := LoadRGB(path)
	if err != nil {
		return nil, 0, 0, err
	}
	return PreprocessRGB(img, size), img.W, img.H, nil
}

// PreprocessRGB resizes an already decoded image to size×size (Resize) and normalises
// it (Normalize).
func PreprocessRGB(img *RGB, size int) []float32 {
	return Normalize(Resize(img, size, size))
}
