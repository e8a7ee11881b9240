package train_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/data/synth"
	"github.com/ideal-fsad/ideal/train"
)

// ExampleRun trains a head for two short epochs on a small synthetic data set with the
// tiny test backbone, printing a line per epoch.
func ExampleRun() {
	dir, err := os.MkdirTemp("", "train-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "data")
	if err := synth.Generate(root, synth.Options{Size: 112, Seed: 5, Classes: []string{"fabric"}, Train: 1, TestGood: 3, PerDefect: 1}); err != nil {
		log.Fatal(err)
	}

	det, err := ideal.New(ideal.Options{Backbone: "../testdata/fixtures/dinov2-tiny/weights.safetensors", Size: 112,
		Cache: filepath.Join(dir, "features")})
	if err != nil {
		log.Fatal(err)
	}
	defer det.Close()
	ds, err := data.Open(root, data.FormatMVTec, nil)
	if err != nil {
		log.Fatal(err)
	}
	rep, err := train.Run(context.Background(), det, ds, train.Options{
		Out: filepath.Join(dir, "head.safetensors"), Epochs: 2, Episodes: 4, Batch: 2, NShot: 1, Vectors: 8, Seed: 1,
		Events: train.Events{Epoch: func(e train.EpochDone) {
			fmt.Printf("epoch %d/%d: wrote %s and %s\n", e.Epoch, e.Epochs, filepath.Base(e.Head), filepath.Base(e.Ckpt))
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(rep.Epochs), "epochs;", det.Stats().Forwards, "backbone passes")
	// Output:
	// epoch 1/2: wrote head.safetensors and head.safetensors.ckpt
	// epoch 2/2: wrote head.safetensors and head.safetensors.ckpt
	// 2 epochs; 9 backbone passes
}
