package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ideal-fsad/ideal/data/synth"
	"github.com/schollz/progressbar/v3"
)

func init() {
	register("synth", "write a synthetic inspection data set (MVTec AD layout)", runSynth)
}

func runSynth(args []string) error {
	fs := newFlagSet("synth", "--out DIR [--seed N] [--size 256] [--classes a,b] [--train N] [--test N] [--per-defect N] [--replace]")
	out := fs.String("out", "", "output folder (required)")
	seed := fs.Uint64("seed", 1, "random seed: the data set is a function of the seed, the size and the counts")
	size := fs.Int("size", synth.DefaultSize, "image side in pixels (32 to 4096)")
	classes := fs.String("classes", "", "comma-separated classes (default all: "+strings.Join(synth.Classes(), ",")+")")
	train := fs.Int("train", synth.DefaultTrain, "normal training images per class")
	test := fs.Int("test", synth.DefaultTestGood, "normal test images per class")
	perDefect := fs.Int("per-defect", synth.DefaultPerDefect, "test images per defect type and class")
	replace := fs.Bool("replace", false, "replace class folders an earlier ideal synth run left in --out")
	quiet := fs.Bool("q", false, "no progress on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	if *out == "" {
		return usageErrorf("--out is required")
	}
	for _, c := range []struct {
		name string
		v    int
	}{{"train", *train}, {"test", *test}, {"per-defect", *perDefect}} {
		if c.v < 1 || c.v > 10000 {
			return usageErrorf("--%s %d out of range [1, 10000]", c.name, c.v)
		}
	}
	if *size < 32 || *size > 4096 {
		return usageErrorf("--size %d out of range [32, 4096]", *size)
	}
	opt := synth.Options{Size: *size, Seed: *seed, Train: *train, TestGood: *test, PerDefect: *perDefect, Replace: *replace}
	for _, c := range splitList(*classes) {
		if synth.DefectTypes(c) == nil {
			return usageErrorf("unknown class %q (known: %s)", c, strings.Join(synth.Classes(), ", "))
		}
		opt.Classes = append(opt.Classes, c)
	}
	var bar *progressbar.ProgressBar
	if !*quiet && stderrIsTerminal() {
		opt.Progress = func(done, total int) {
			if bar == nil {
				bar = newBar(total, "synth")
			}
			bar.Set(done)
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	start := time.Now()
	if err := synth.Generate(*out, opt); err != nil {
		return err
	}
	if bar != nil {
		bar.Finish()
	}
	n := len(opt.Classes)
	if n == 0 {
		n = len(synth.Classes())
	}
	fmt.Fprintf(os.Stderr, "ideal synth: %d classes written to %s in %.1fs (MVTec AD layout; use --format mvtec)\n",
		n, *out, time.Since(start).Seconds())
	return nil
}
