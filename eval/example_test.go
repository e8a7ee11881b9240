package eval_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/data/synth"
	"github.com/ideal-fsad/ideal/eval"
	"github.com/ideal-fsad/ideal/model/head"
)

const tinyBackbone = "../testdata/fixtures/dinov2-tiny/weights.safetensors"

// Evaluate 1 normal + 1 abnormal reference per class on a small synthetic data set,
// with the tiny test backbone and a fresh (untrained) head.
func ExampleRun() {
	dir, err := os.MkdirTemp("", "eval-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "data")
	err = synth.Generate(root, synth.Options{Size: 112, Seed: 5, Classes: []string{"fabric", "nut"}, Train: 2, TestGood: 3, PerDefect: 1})
	if err != nil {
		log.Fatal(err)
	}
	ds, err := data.Open(root, data.FormatMVTec, nil)
	if err != nil {
		log.Fatal(err)
	}
	hw, err := head.Init(48, head.DefaultVectors, 2)
	if err != nil {
		log.Fatal(err)
	}
	det, err := ideal.New(ideal.Options{Backbone: tinyBackbone, HeadWeights: hw, Size: 112})
	if err != nil {
		log.Fatal(err)
	}
	defer det.Close()
	rep, err := eval.Run(context.Background(), det, ds, eval.Options{NShot: 1, AShot: 1, Seed: 1}, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range rep.Classes {
		fmt.Printf("%s: %d queries, I-AUROC %.3f, P-AUROC %.3f\n", c.Class, c.Images, c.IAUROC, c.PAUROC)
	}
	fmt.Printf("mean I-AUROC %.3f; %s, %d backbone passes, %d images left out\n", rep.Mean.IAUROC, rep.Mode, rep.CacheMiss, len(rep.Skipped))
	// Output:
	// fabric: 8 queries, I-AUROC 0.733, P-AUROC 0.545
	// nut: 8 queries, I-AUROC 0.467, P-AUROC 0.826
	// mean I-AUROC 0.600; IDEAL, 20 backbone passes, 0 images left out
}
