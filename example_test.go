package ideal_test

import (
	"context"
	"fmt"
	"log"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

const headFixture = "testdata/fixtures/ideal-head-g8/"

// fixtureInputs reads the ideal-head-g8 fixture: the features of a normal reference, an
// abnormal one, its 112×112 defect mask and a query (the authors' head run on them is in
// expected.safetensors).
func fixtureInputs() (normal, abnormal, query *tensor.Dense, mask *imaging.Mask, exp map[string]*tensor.Dense) {
	in, err := weights.ReadSafetensors(headFixture + "inputs.safetensors")
	if err != nil {
		log.Fatal(err)
	}
	e, err := weights.ReadSafetensors(headFixture + "expected.safetensors")
	if err != nil {
		log.Fatal(err)
	}
	flat := func(name string) *tensor.Dense {
		d := in.Tensors[name]
		return tensor.FromData(d.Data, d.Shape[len(d.Shape)-2], d.Shape[len(d.Shape)-1])
	}
	m := in.Tensors["abnormal_masks"]
	mask = imaging.NewMask(m.Shape[2], m.Shape[1])
	for i, v := range m.Data {
		mask.Pix[i] = v > 0
	}
	return flat("normal_features"), flat("abnormal_features"), flat("query_features"), mask, e.Tensors
}

// Score one query against one normal and one abnormal reference with the authors'
// head (features given directly, as the fixture holds them; with images, pass
// ideal.File("good.png") and set Options.Backbone).
func ExampleEpisode_Score() {
	normal, abnormal, query, mask, exp := fixtureInputs()
	det, err := ideal.New(ideal.Options{Head: headFixture + "head.safetensors", Size: 112})
	if err != nil {
		log.Fatal(err)
	}
	defer det.Close()
	ctx := context.Background()
	ep, err := det.Episode(ctx, ideal.Refs{
		Normal:   []ideal.Input{ideal.FromPatches("normal", normal)},
		Abnormal: []ideal.Abnormal{{Input: ideal.FromPatches("abnormal", abnormal), Mask: mask}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer ep.Close()
	r, err := ep.Score(ctx, ideal.FromPatches("query", query))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: image score %.4f (authors' code: %.4f), %d×%d maps, anomalous at 0.5: %v\n",
		r.Name, r.ImageScore, exp["image_score"].Data[0], r.Grid, r.Grid, r.Anomalous(0.5))
	fmt.Printf("pixel map: %d values (S×S, σ = %d)\n", len(r.PixelMap()), ideal.Sigma)
	// Output:
	// query: image score 0.3264 (authors' code: 0.3264), 8×8 maps, anomalous at 0.5: false
	// pixel map: 12544 values (S×S, σ = 4)
}

// A detector on images: the tiny test backbone of testdata (a 2-block DINOv2 with
// random weights, so the numbers mean nothing) and a freshly initialised head. The
// abnormal reference's defect mask is painted in memory; a mask file works the same
// through Abnormal.MaskPath.
func ExampleDetector_Episode() {
	const img = "testdata/fixtures/dinov2-tiny/input.png" // 211×150
	hw, err := head.Init(48, 45, 1)                       // C = 48, M = 45 vectors, seed 1
	if err != nil {
		log.Fatal(err)
	}
	det, err := ideal.New(ideal.Options{Backbone: "testdata/fixtures/dinov2-tiny/weights.safetensors",
		HeadWeights: hw, Size: 98, Backend: kernels.NewReference()})
	if err != nil {
		log.Fatal(err)
	}
	defer det.Close()
	mask := imaging.NewMask(211, 150)
	for y := 40; y < 90; y++ {
		for x := 60; x < 130; x++ {
			mask.Pix[y*mask.W+x] = true
		}
	}
	ctx := context.Background()
	ep, err := det.Episode(ctx, ideal.Refs{
		Normal:   []ideal.Input{ideal.File(img)},
		Abnormal: []ideal.Abnormal{{Input: ideal.File(img), Mask: mask}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer ep.Close()
	r, err := ep.Score(ctx, ideal.File(img))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("grid %d×%d at S = %d, image %d×%d, pixel map %d values, score in [0, 1]: %v\n",
		r.Grid, r.Grid, r.Side, r.W, r.H, len(r.PixelMap()), r.ImageScore >= 0 && r.ImageScore <= 1)
	fmt.Printf("backbone passes: %d (the same image thrice, no cache)\n", det.Stats().Forwards)
	// Output:
	// grid 7×7 at S = 98, image 211×150, pixel map 9604 values, score in [0, 1]: true
	// backbone passes: 3 (the same image thrice, no cache)
}

// OpenBackend picks a compute backend by name; "auto" takes the GPU when the program
// links package gpu (blank import) and a context can be made, else the CPU.
func ExampleOpenBackend() {
	be, note, err := ideal.OpenBackend("cpu")
	if err != nil {
		log.Fatal(err)
	}
	defer be.Close()
	fmt.Println(be.Name()[:4], note == "")
	// Output: cpu/ true
}
