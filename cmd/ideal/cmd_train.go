package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/train"
)

func init() {
	register("train", "train the IDE head on a data set's test split (backbone frozen)", runTrain)
}

const trainUsage = `--data ROOT --backbone FILE --out HEAD [--format mvtec|visa|mpdd|btad|folder]
       [--epochs 20] [--episodes 600] [--batch 16] [--n-shot 1] [--a-shot 1] [--size 448]
       [--classes a,b] [--vectors 45] [--lr 1e-3] [--seed N] [--cache DIR] [--backend cpu]
       [--dropout 0.1] [--precision float32|float64] [--resume CKPT] [--stop-on-error] [-q]
       [--eval-data ROOT --eval-format F --eval-setting general|hard --eval-out DIR]

Trains a freshly initialised IDE head (spec §8) on episodes drawn from the test split
of ROOT: AdamW with amsgrad, learning rate warmed up linearly from 1e-5 over 2 epochs
then a cosine down to 1e-5, per iteration of --batch episodes. Backbone features are
cached in --cache (default HEAD.cache), so the backbone runs once per image. HEAD is
written (atomically, safetensors) after every epoch, and so is the checkpoint
HEAD.ckpt (parameters and AdamW state in float64, epoch, sampler position);
--resume CKPT continues a run with the same settings exactly as if it had not been
interrupted. --dropout (spec §6, training only) drops attention weights and the
attention output before the residual, with masks drawn from the seed, the iteration
and the episode's place in the batch. --precision float32 (the default) computes the
head's loss and gradient on the CPU's packed float32 kernels, several times faster than
the scalar float64 path (--precision float64, the oracle it is tested against); the
parameters, AdamW and the checkpoint are float64 either way. --eval-data evaluates the head after every epoch
on that data set as 'ideal eval' does (same shots, size, seed and feature cache; no
overlays) and prints the table; the outputs go to --eval-out/epoch-N (default
HEAD.eval/epoch-N). Each epoch's loss is printed on stdout; a progress bar is drawn on
stderr when it is a terminal (not with -q).

Ctrl-C (SIGINT) or SIGTERM stops the run at the end of the current iteration: the
checkpoint HEAD.ckpt is written with the position within the epoch (HEAD keeps the last
complete epoch's head), the command to resume is printed and the exit status is 130;
--resume then continues exactly as if the run had not been interrupted. A second Ctrl-C
quits at once (the files on disk stay complete: they are written atomically).

Images the data set reader leaves out (e.g. an anomalous image without its mask) are
reported on stderr. An image that cannot be used when an episode needs it (unreadable,
corrupt, non-finite features, a bad mask) is reported once with its path and the reason,
and the episodes that draw it are left out (others are drawn in their place; --resume
replays the same draws). --stop-on-error stops the run there instead, keeping the
iterations done in HEAD.ckpt: fix or remove the image and rerun with --resume HEAD.ckpt.`

type trainOptions struct {
	root, format, backbone, out, cache, backend, resume  string
	precision                                            string
	evalData, evalFormat, evalSetting, evalOut           string
	epochs, episodes, batch, nShot, aShot, size, vectors int
	lr, dropout                                          float64
	classes                                              []string
	seed                                                 uint64
	quiet, stopOnError                                   bool
	args                                                 []string // the command line, for the resume command
}

// resumeCommand is the command line that resumes the run of args from ckpt.
func resumeCommand(args []string, ckpt string) string {
	cmd := []string{os.Args[0], "train"}
	for i := 0; i < len(args); i++ {
		switch a := strings.TrimLeft(args[i], "-"); {
		case a == "resume" && strings.HasPrefix(args[i], "-"):
			i++ // and its value
		case strings.HasPrefix(a, "resume=") && strings.HasPrefix(args[i], "-"):
		default:
			cmd = append(cmd, args[i])
		}
	}
	cmd = append(cmd, "--resume", ckpt)
	for i, a := range cmd {
		if a == "" || strings.ContainsFunc(a, func(r rune) bool { return !strings.ContainsRune(shellSafe, r) }) {
			cmd[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(cmd, " ")
}

// shellSafe are the characters a shell word needs no quotes for.
const shellSafe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=.,:/@%"

func parseTrainFlags(args []string) (trainOptions, error) {
	fs := newFlagSet("train", trainUsage)
	o := trainOptions{args: args}
	fs.StringVar(&o.root, "data", "", "data set root folder (required)")
	fs.StringVar(&o.format, "format", data.FormatMVTec, "data set layout: "+strings.Join(data.Formats, ", "))
	fs.StringVar(&o.backbone, "backbone", "", "DINOv2 weights (required)")
	fs.StringVar(&o.out, "out", "", "output head file (required)")
	fs.IntVar(&o.epochs, "epochs", 20, "epochs")
	fs.IntVar(&o.episodes, "episodes", 600, "episodes per epoch")
	fs.IntVar(&o.batch, "batch", 16, "episodes per iteration")
	fs.IntVar(&o.nShot, "n-shot", 1, "normal references per episode")
	fs.IntVar(&o.aShot, "a-shot", 1, "abnormal references per episode (≥ 1)")
	fs.IntVar(&o.size, "size", 448, "input side S in pixels (a multiple of the patch size)")
	fs.IntVar(&o.vectors, "vectors", head.DefaultVectors, "number M of deviation vectors")
	fs.Float64Var(&o.lr, "lr", 1e-3, "peak learning rate")
	fs.Float64Var(&o.dropout, "dropout", 0.1, "dropout rate in training (0: none)")
	classes := fs.String("classes", "", "comma-separated classes (default all)")
	fs.Uint64Var(&o.seed, "seed", 0, "seed of the initialisation and the episode draw")
	fs.StringVar(&o.cache, "cache", "", "feature cache folder (default HEAD.cache)")
	fs.StringVar(&o.backend, "backend", "cpu", "compute backend of the backbone and the NVE: "+backendNames)
	fs.StringVar(&o.precision, "precision", string(train.Float32), "arithmetic of the head's loss and gradient: float32 (fast) or float64 (the oracle)")
	fs.StringVar(&o.resume, "resume", "", "checkpoint to continue from (HEAD.ckpt of an earlier run with the same settings)")
	fs.StringVar(&o.evalData, "eval-data", "", "data set evaluated after every epoch (default: none)")
	fs.StringVar(&o.evalFormat, "eval-format", "", "layout of --eval-data (default --format)")
	fs.StringVar(&o.evalSetting, "eval-setting", string(data.General), "setting of the evaluation: general or hard")
	fs.StringVar(&o.evalOut, "eval-out", "", "evaluation outputs folder (default HEAD.eval)")
	fs.BoolVar(&o.quiet, "q", false, "no progress on stderr")
	fs.BoolVar(&o.stopOnError, "stop-on-error", false, "stop at the first image that cannot be read (keeping the work done) instead of leaving it out")
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, usageErrorf("unexpected arguments %q", fs.Args())
	case o.root == "" || o.backbone == "" || o.out == "":
		return o, usageErrorf("--data, --backbone and --out are required")
	case o.epochs < 1 || o.episodes < 1 || o.batch < 1:
		return o, usageErrorf("--epochs %d, --episodes %d, --batch %d must be positive", o.epochs, o.episodes, o.batch)
	case o.nShot < 0 || o.aShot < 1:
		return o, usageErrorf("--n-shot %d, --a-shot %d: need n ≥ 0 and a ≥ 1", o.nShot, o.aShot)
	case o.size <= 0 || o.vectors < 1:
		return o, usageErrorf("--size %d and --vectors %d must be positive", o.size, o.vectors)
	case !(o.lr > 0) || math.IsInf(o.lr, 0):
		return o, usageErrorf("--lr %g must be a positive number", o.lr)
	case !(o.dropout >= 0 && o.dropout < 1):
		return o, usageErrorf("--dropout %g must be in [0, 1)", o.dropout)
	case o.precision != string(train.Float32) && o.precision != string(train.Float64):
		return o, usageErrorf("--precision %q: want float32 or float64", o.precision)
	}
	o.classes = splitList(*classes)
	if o.cache == "" {
		o.cache = o.out + ".cache"
	}
	if o.evalFormat == "" {
		o.evalFormat = o.format
	}
	if o.evalOut == "" {
		o.evalOut = o.out + ".eval"
	}
	if _, err := data.ParseSetting(o.evalSetting); err != nil {
		return o, usageErrorf("--eval-setting: %v", err)
	}
	return o, nil
}

func runTrain(args []string) error {
	o, err := parseTrainFlags(args)
	if err != nil {
		return err
	}
	ctx, release := watchInterrupt("train", "this iteration to write a checkpoint", nil)
	defer release()
	_, err = trainHead(ctx, o, os.Stdout, os.Stderr)
	return err
}

// trainHead runs the training (train.Run) with ctx's cancellation, drawing progress
// on stderr (a bar when it is a terminal) and a line per epoch on stdout. A run that
// stops before its end returns a *train.Stopped, wrapped with the command to resume.
func trainHead(ctx context.Context, o trainOptions, stdout, stderr io.Writer) (*train.Report, error) {
	start := time.Now()
	ds, err := data.Open(o.root, o.format, o.classes)
	if err != nil {
		return nil, err
	}
	for _, p := range ds.Problems() {
		fmt.Fprintf(stderr, "skipped %s: %v\n", p.Path, p.Err)
	}
	be, note, err := ideal.OpenBackend(o.backend)
	if errors.Is(err, ideal.ErrUnknownBackend) {
		return nil, usageErrorf("--backend: %v", err)
	} else if err != nil {
		return nil, err
	}
	defer be.Close()
	if note != "" {
		fmt.Fprintln(stderr, note)
	}
	p := &trainProgress{stdout: stdout, stderr: stderr, bars: !o.quiet && isTerminal(stderr)}
	det, err := ideal.New(ideal.Options{Backbone: o.backbone, Size: o.size, Backend: be, Cache: o.cache, Warn: p.warning})
	if err != nil {
		return nil, err
	}
	defer det.Close()
	to := train.Options{Out: o.out, Epochs: o.epochs, Episodes: o.episodes, Batch: o.batch, NShot: o.nShot, AShot: o.aShot,
		Vectors: o.vectors, LR: o.lr, Dropout: o.dropout, Precision: train.Precision(o.precision), Seed: o.seed, Resume: o.resume, StopOnError: o.stopOnError,
		OutputLock: &outputsMu, Events: p.events()}
	if o.evalData != "" {
		to.AfterEpoch = func(ctx context.Context, epoch int, headPath string) error {
			return evalAfterEpoch(ctx, o, epoch, headPath, stdout, stderr)
		}
	}
	rep, err := train.Run(ctx, det, ds, to)
	p.done(err == nil)
	if st := (*train.Stopped)(nil); errors.As(err, &st) {
		what := "resume with"
		if bad := (*train.ImageError)(nil); errors.As(err, &bad) {
			what = "fix or remove the image, then resume with"
		}
		return rep, fmt.Errorf("%w\n%s:\n  %s", err, what, resumeCommand(o.args, st.Ckpt))
	}
	if err != nil {
		return rep, err
	}
	secs := time.Since(start).Seconds()
	n := len(rep.Epochs) * o.episodes
	s := det.Stats()
	fmt.Fprintf(stdout, "%d episodes in %.1fs (%.2f episodes/s, features: %d from the cache, %d computed)\n",
		n, secs, float64(n)/secs, s.DiskHits+s.MemoryHits, s.Forwards)
	return rep, nil
}

// evalAfterEpoch evaluates the head after an epoch as 'ideal eval' does (--eval-data:
// the same shots, size, seed and feature cache; no overlays) and prints its table; a
// cancelled ctx stops it after the current image.
func evalAfterEpoch(ctx context.Context, o trainOptions, epoch int, headPath string, stdout, stderr io.Writer) error {
	fmt.Fprintf(stdout, "evaluation after epoch %d on %s:\n", epoch, o.evalData)
	eo := evalOptions{root: o.evalData, format: o.evalFormat, backbone: o.backbone, headPath: headPath,
		setting: o.evalSetting, backend: o.backend, out: filepath.Join(o.evalOut, fmt.Sprintf("epoch-%d", epoch)),
		cache: o.cache, nShot: o.nShot, aShot: o.aShot, size: o.size, seed: o.seed, quiet: true, ctx: ctx}
	if err := evaluate(eo, stdout, stderr); err != nil {
		return fmt.Errorf("evaluation: %w", err)
	}
	return nil
}

// isTerminal reports whether w is the terminal's stderr (progress bars are drawn only
// there; a log file or CI gets the epoch lines alone).
func isTerminal(w io.Writer) bool { return w == io.Writer(os.Stderr) && stderrIsTerminal() }

// trainProgress draws a run's events: a progress bar on a terminal, the epoch lines
// on stdout, skipped images and warnings on stderr.
type trainProgress struct {
	stdout, stderr io.Writer
	bars           bool
	bar            *progressbar.ProgressBar
	start          time.Time // of the first iteration of this call
	steps          int       // iterations done by this call
}

func (p *trainProgress) events() train.Events {
	return train.Events{
		Begin: func(done, total int) {
			if p.bars {
				p.bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(p.stderr),
					progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
					progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
				p.bar.Set(done)
			}
		},
		Iteration: func(it train.Iteration) {
			if p.steps++; p.steps == 1 {
				p.start = time.Now()
			}
			if p.bar != nil {
				l := it.Loss
				p.bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f (img %.3f focal %.3f dice %.3f disc %.3f orth %.3f) lr %.2g%s",
					it.Epoch, it.Epochs, l.Total(), l.Image, l.Focal, l.Dice, l.Disc, l.Orth, it.LR, p.rate(it.Batch)))
				p.bar.Add(1)
			}
		},
		Epoch: func(e train.EpochDone) {
			p.clear()
			l := e.Loss
			fmt.Fprintf(p.stdout, "epoch %d/%d: loss %.4f (image %.4f, focal %.4f, dice %.4f, disc %.4f, orth %.4f); wrote %s and %s\n",
				e.Epoch, e.Epochs, l.Total(), l.Image, l.Focal, l.Dice, l.Disc, l.Orth, e.Head, e.Ckpt)
		},
		Skipped: func(e *train.ImageError) {
			p.clear()
			fmt.Fprintf(p.stderr, "skipped %s: %s (episodes using it are left out)\n", e.Path, e.Reason())
		},
		Warning: p.warning,
	}
}

// rate is " N episodes/s" over this call's iterations after the first (whose time
// is not measured), "" before the second; batch is the episodes per iteration.
func (p *trainProgress) rate(batch int) string {
	secs := time.Since(p.start).Seconds()
	if p.steps < 2 || secs <= 0 {
		return ""
	}
	return fmt.Sprintf(" %.1f episodes/s", float64((p.steps-1)*batch)/secs)
}

func (p *trainProgress) warning(msg string) {
	p.clear()
	fmt.Fprintf(p.stderr, "warning: %s\n", msg)
}

func (p *trainProgress) clear() {
	if p.bar != nil {
		p.bar.Clear()
	}
}

// done finishes the bar (ok) or clears it for an error message.
func (p *trainProgress) done(ok bool) {
	if p.bar == nil {
		return
	}
	if ok {
		p.bar.Finish()
	} else {
		p.bar.Clear()
	}
}
