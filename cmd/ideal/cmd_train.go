package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/featcache"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/train"
)

func init() {
	register("train", "train the IDE head on a data set's test split (backbone frozen)", runTrain)
}

const trainUsage = `--data ROOT --backbone FILE --out HEAD [--format mvtec|visa|mpdd|btad|folder]
       [--epochs 20] [--episodes 600] [--batch 16] [--n-shot 1] [--a-shot 1] [--size 448]
       [--classes a,b] [--vectors 45] [--lr 1e-3] [--seed N] [--cache DIR] [--backend cpu]
       [--dropout 0.1] [--resume CKPT] [--stop-on-error]
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
and the episode's place in the batch. --eval-data evaluates the head after every epoch
on that data set as 'ideal eval' does (same shots, size, seed and feature cache; no
overlays) and prints the table; the outputs go to --eval-out/epoch-N (default
HEAD.eval/epoch-N).

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
	evalData, evalFormat, evalSetting, evalOut           string
	epochs, episodes, batch, nShot, aShot, size, vectors int
	lr, dropout                                          float64
	classes                                              []string
	seed                                                 uint64
	quiet, stopOnError                                   bool
	stopAfter                                            int               // tests: stop after this many epochs (0: never), as an interruption
	interrupted                                          func(it int) bool // asked after each iteration (it done in all): stop there? (nil: never)
}

// Keys of the checkpoint metadata of a run interrupted within an epoch: the
// iterations done in it and the mean loss of their episodes so far (JSON).
const (
	ckptEpochIters = "epoch_iterations"
	ckptEpochLoss  = "epoch_loss"
)

// badImageError is an image of a drawn episode that cannot be used (unreadable, corrupt,
// non-finite features, a bad mask): the run leaves the episode out and draws another,
// or stops with --stop-on-error.
type badImageError struct {
	role, path string
	err        error
}

func (e *badImageError) Error() string { return fmt.Sprintf("%s: %v", e.role, e.err) }
func (e *badImageError) Unwrap() error { return e.err }

// Checkpoint metadata key: the episodes drawn from the sampler, those left out for a bad
// image included (absent: as many as the checkpoint's episodes).
const ckptDraws = "sampler_draws"

// maxBadDraws bounds the episodes left out in a row before the run gives up.
const maxBadDraws = 1000

// trainInterrupted is the error of a run stopped on request (it wraps errInterrupted);
// ckpt holds its state and resume, when set, the command line that continues it.
type trainInterrupted struct {
	ckpt                     string
	epoch, epochs, it, iters int // it of iters iterations of epoch (1-based) of epochs done
	resume                   string
}

func (e *trainInterrupted) Unwrap() error { return errInterrupted }

func (e *trainInterrupted) Error() string {
	msg := e.state()
	if e.resume != "" {
		msg += "\nresume with:\n  " + e.resume
	}
	return msg
}

func (e *trainInterrupted) state() string {
	if e.it == e.iters {
		return fmt.Sprintf("interrupted after epoch %d/%d; wrote %s", e.epoch, e.epochs, e.ckpt)
	}
	head := "no head written yet"
	if e.epoch > 1 {
		head = fmt.Sprintf("the head file holds epoch %d", e.epoch-1)
	}
	return fmt.Sprintf("interrupted in epoch %d/%d after iteration %d/%d; wrote %s (%s)",
		e.epoch, e.epochs, e.it, e.iters, e.ckpt, head)
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

// settings are the options a resumed run must share with the run it continues.
func (o trainOptions) settings() string {
	return fmt.Sprintf("format=%s epochs=%d episodes=%d batch=%d n-shot=%d a-shot=%d size=%d vectors=%d lr=%g dropout=%g classes=%s seed=%d",
		o.format, o.epochs, o.episodes, o.batch, o.nShot, o.aShot, o.size, o.vectors, o.lr, o.dropout, strings.Join(o.classes, ","), o.seed)
}

func parseTrainFlags(args []string) (trainOptions, error) {
	fs := newFlagSet("train", trainUsage)
	var o trainOptions
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
	o.interrupted = func(int) bool { return ctx.Err() != nil }
	_, err = trainHead(o, os.Stdout, os.Stderr)
	if ti := (*trainInterrupted)(nil); errors.As(err, &ti) {
		ti.resume = resumeCommand(args, ti.ckpt)
	}
	return err
}

// trainHead runs the training and returns the mean loss of each epoch.
func trainHead(o trainOptions, stdout, stderr io.Writer) ([]train.Losses, error) {
	start := time.Now()
	ds, err := data.Open(o.root, o.format, o.classes)
	if err != nil {
		return nil, err
	}
	sampler, err := data.NewSampler(ds, o.nShot, o.aShot, o.seed)
	if err != nil {
		return nil, err
	}
	for _, p := range ds.Problems() {
		fmt.Fprintf(stderr, "skipped %s: %v\n", p.Path, p.Err)
	}
	for _, s := range sampler.Skipped() {
		fmt.Fprintf(stderr, "warning: class left out: %s\n", s)
	}
	bbID, err := featcache.BackboneID(o.backbone)
	if err != nil {
		return nil, err
	}
	be, err := openBackend(o.backend)
	if err != nil {
		return nil, err
	}
	defer be.Close()
	iters := (o.episodes + o.batch - 1) / o.batch
	var (
		draws     int // episodes drawn from the sampler
		ck        *train.Checkpoint
		skipIters int          // iterations of the first epoch done before the resumed run
		skipLoss  train.Losses // and their share of the epoch's mean loss
	)
	if o.resume != "" {
		if ck, err = train.ReadCheckpoint(o.resume); err != nil {
			return nil, err
		}
		if got, want := ck.Meta["settings"], o.settings(); got != want {
			return nil, fmt.Errorf("train: checkpoint %s was made with other settings:\n  checkpoint: %s\n  now:        %s", o.resume, got, want)
		}
		if ck.Meta["backbone"] != bbID {
			return nil, fmt.Errorf("train: checkpoint %s was made with another backbone", o.resume)
		}
		if ck.Epoch > o.epochs {
			return nil, fmt.Errorf("train: checkpoint %s is after epoch %d of %d", o.resume, ck.Epoch, o.epochs)
		}
		if v, ok := ck.Meta[ckptEpochIters]; ok { // interrupted within an epoch
			if skipIters, err = strconv.Atoi(v); err != nil || skipIters < 1 || skipIters >= iters ||
				ck.Epoch >= o.epochs || ck.Episodes != ck.Epoch*o.episodes+skipIters*o.batch {
				return nil, fmt.Errorf("train: checkpoint %s: %s = %q does not fit epoch %d and %d episodes drawn (%d iterations of %d episodes per epoch)",
					o.resume, ckptEpochIters, v, ck.Epoch, ck.Episodes, iters, o.batch)
			}
			if err := json.Unmarshal([]byte(ck.Meta[ckptEpochLoss]), &skipLoss); err != nil {
				return nil, fmt.Errorf("train: checkpoint %s: %s: %v", o.resume, ckptEpochLoss, err)
			}
		}
		draws = ck.Episodes
		if v, ok := ck.Meta[ckptDraws]; ok {
			if draws, err = strconv.Atoi(v); err != nil || draws < ck.Episodes {
				return nil, fmt.Errorf("train: checkpoint %s: %s = %q is not a count of at least %d episodes", o.resume, ckptDraws, v, ck.Episodes)
			}
		}
		for range draws { // the sampler where the run stopped
			sampler.Next()
		}
	}
	warn := func(s string) { fmt.Fprintf(stderr, "warning: %s\n", s) }
	feats := &evalFeatures{be: be, path: o.backbone, size: o.size, cache: featcache.New(o.cache, bbID), warn: warn}

	var (
		w      *head.Weights
		model  *head.Model
		params *train.Params
		opt    *train.AdamW
	)
	defer func() {
		if model != nil {
			model.Close()
		}
	}()
	// sample turns a drawn episode into the parameter-independent training sample.
	sample := func(ep data.TrainEpisode) (*train.Sample, error) {
		var normals []*tensor.Dense
		for _, s := range ep.Normal {
			e, err := feats.get(s.Path)
			if err != nil {
				return nil, &badImageError{"normal reference", s.Path, err}
			}
			normals = append(normals, e.Features)
		}
		var abn []head.Abnormal
		for _, s := range ep.Abnormal {
			e, err := feats.get(s.Path)
			if err != nil {
				return nil, &badImageError{"abnormal reference", s.Path, err}
			}
			_, patch, err := gridOf(e.Features, o.size)
			if err != nil {
				return nil, err
			}
			m, err := maskAt(s.MaskPath, e.W, e.H, o.size)
			if err != nil {
				return nil, &badImageError{"abnormal reference", s.Path, err}
			}
			abn = append(abn, head.Abnormal{Features: e.Features, Mask: imaging.PatchMask(m, patch)})
		}
		q, err := feats.get(ep.Query.Path)
		if err != nil {
			return nil, &badImageError{"query", ep.Query.Path, err}
		}
		if model == nil { // the width is known from the first features
			if w, err = head.Init(q.Features.Shape[1], o.vectors, o.seed); err != nil {
				return nil, err
			}
			model = head.New(be, w) // NVE, position code and s_n do not depend on the weights
			params = train.FromWeights(w)
			opt = train.NewAdamW(params)
			if ck != nil {
				if p := ck.Params; p.C != params.C || p.M != params.M || p.Heads != params.Heads {
					return nil, fmt.Errorf("train: checkpoint %s: width %d, %d vectors, %d heads; the features need width %d, %d vectors, %d heads",
						o.resume, p.C, p.M, p.Heads, params.C, params.M, params.Heads)
				}
				params, opt = ck.Params, ck.Opt
			}
		}
		mask := make([]float32, o.size*o.size)
		label := 0
		if ep.Query.Anomalous {
			label = 1
			m, err := maskAt(ep.Query.MaskPath, q.W, q.H, o.size)
			if err != nil {
				return nil, &badImageError{"query", ep.Query.Path, err}
			}
			for i, v := range m.Pix {
				if v {
					mask[i] = 1
				}
			}
		}
		return train.NewSample(model, normals, abn, q.Features, label, mask, o.size)
	}

	sched := train.Schedule{Peak: o.lr, Min: 1e-5, Warmup: min(2, o.epochs) * iters, Total: o.epochs * iters}
	var bar *progressbar.ProgressBar
	if !o.quiet {
		bar = progressbar.NewOptions(o.epochs*iters, progressbar.OptionSetWriter(stderr),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	}
	// drawSample draws episodes until one whose images can all be used: an episode with a
	// bad image is left out (the image reported once), unless --stop-on-error.
	reported := map[string]bool{}
	drawSample := func() (*train.Sample, error) {
		for range maxBadDraws {
			ep := sampler.Next()
			draws++
			s, err := sample(ep)
			var bad *badImageError
			if !errors.As(err, &bad) {
				if err != nil {
					return nil, fmt.Errorf("train: class %s: %w", ep.Class, err)
				}
				return s, nil
			}
			if o.stopOnError {
				return nil, fmt.Errorf("train: class %s: stopped at a bad image (--stop-on-error): %w", ep.Class, err)
			}
			if !reported[bad.path] {
				reported[bad.path] = true
				if bar != nil {
					bar.Clear()
				}
				reason := strings.TrimPrefix(bad.err.Error(), bad.path+": ") // the path once is enough
				fmt.Fprintf(stderr, "skipped %s: %s (episodes using it are left out)\n", bad.path, reason)
			}
		}
		return nil, fmt.Errorf("train: %d episodes in a row had an image that cannot be used; the data set is too damaged to train on", maxBadDraws)
	}
	// saveWithinEpoch writes the checkpoint of a run stopped within epoch after its
	// first iters iterations (done episodes, mean loss so far), which --resume continues.
	saveWithinEpoch := func(epoch, iters, done int, mean train.Losses) error {
		loss, err := json.Marshal(mean)
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		ckpt := &train.Checkpoint{Params: params, Opt: opt, Epoch: epoch, Episodes: epoch*o.episodes + done,
			Meta: map[string]string{"settings": o.settings(), "backbone": bbID,
				ckptEpochIters: strconv.Itoa(iters), ckptEpochLoss: string(loss), ckptDraws: strconv.Itoa(draws)}}
		outputsMu.Lock()
		defer outputsMu.Unlock()
		return ckpt.WriteFile(o.out + ".ckpt")
	}
	var history []train.Losses
	var grad *train.Params
	first := 0
	if ck != nil {
		first = ck.Epoch
	}
	it := first*iters + skipIters
	if bar != nil {
		bar.Set(it)
	}
	for epoch := first; epoch < o.epochs; epoch++ {
		if o.stopAfter > 0 && epoch == o.stopAfter {
			break
		}
		var mean train.Losses
		stopping := false
		done, from := 0, 0
		if epoch == first && skipIters > 0 {
			mean, done, from = skipLoss, skipIters*o.batch, skipIters
		}
		for k := from; k < iters; k++ {
			var batch []*train.Sample
			batchDraws := draws // a stopped iteration is redone from here on --resume
			for range min(o.batch, o.episodes-done) {
				s, err := drawSample()
				if err != nil {
					// A bad image with --stop-on-error (or too many): the iterations done
					// so far are kept.
					if bar != nil {
						bar.Clear()
					}
					if k == 0 || k == from {
						return nil, err // nothing done since the last checkpoint
					}
					draws = batchDraws
					if serr := saveWithinEpoch(epoch, k, done, mean); serr != nil {
						return nil, fmt.Errorf("%w (and the checkpoint could not be written: %v)", err, serr)
					}
					return nil, fmt.Errorf("%w\nthe work so far (epoch %d/%d, iteration %d of %d) is in %s.ckpt: fix or remove the image, then continue with --resume %s.ckpt",
						err, epoch+1, o.epochs, k, iters, o.out, o.out)
				}
				s.DropRate, s.DropSeed = o.dropout, dropSeed(o.seed, it, len(batch))
				batch = append(batch, s)
			}
			done += len(batch)
			if grad == nil {
				grad = train.NewParams(params.C, params.M, params.Heads)
			}
			l, err := train.BatchLoss(params, batch, grad)
			if err != nil {
				return nil, err
			}
			if math.IsNaN(l.Total()) || math.IsInf(l.Total(), 0) {
				return nil, fmt.Errorf("train: epoch %d, iteration %d: the loss is %v", epoch+1, it+1, l.Total())
			}
			lr := sched.At(it)
			opt.Step(params, grad, lr)
			mean.Add(l, float64(len(batch))/float64(o.episodes))
			it++
			if bar != nil {
				bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f (img %.3f focal %.3f dice %.3f disc %.3f orth %.3f) lr %.2g",
					epoch+1, o.epochs, l.Total(), l.Image, l.Focal, l.Dice, l.Disc, l.Orth, lr))
				bar.Add(1)
			}
			stopping = o.interrupted != nil && o.interrupted(it)
			if stopping && k < iters-1 {
				if err := saveWithinEpoch(epoch, k+1, done, mean); err != nil {
					return nil, err
				}
				if bar != nil {
					bar.Clear()
				}
				return history, &trainInterrupted{ckpt: o.out + ".ckpt", epoch: epoch + 1, epochs: o.epochs, it: k + 1, iters: iters}
			}
		}
		history = append(history, mean)
		ckpt := &train.Checkpoint{Params: params, Opt: opt, Epoch: epoch + 1, Episodes: (epoch + 1) * o.episodes,
			Meta: map[string]string{"settings": o.settings(), "backbone": bbID, ckptDraws: strconv.Itoa(draws)}}
		outputsMu.Lock()
		err := params.Weights(w.Config).WriteFile(o.out)
		if err == nil {
			err = ckpt.WriteFile(o.out + ".ckpt")
		}
		outputsMu.Unlock()
		if err != nil {
			return nil, err
		}
		if bar != nil {
			bar.Clear()
		}
		fmt.Fprintf(stdout, "epoch %d/%d: loss %.4f (image %.4f, focal %.4f, dice %.4f, disc %.4f, orth %.4f); wrote %s and %s.ckpt\n",
			epoch+1, o.epochs, mean.Total(), mean.Image, mean.Focal, mean.Dice, mean.Disc, mean.Orth, o.out, o.out)
		if o.evalData != "" {
			fmt.Fprintf(stdout, "evaluation after epoch %d on %s:\n", epoch+1, o.evalData)
			eo := evalOptions{root: o.evalData, format: o.evalFormat, backbone: o.backbone, headPath: o.out,
				setting: o.evalSetting, backend: o.backend, out: filepath.Join(o.evalOut, fmt.Sprintf("epoch-%d", epoch+1)),
				cache: o.cache, nShot: o.nShot, aShot: o.aShot, size: o.size, seed: o.seed, quiet: true}
			if err := evaluate(eo, stdout, stderr); err != nil {
				return nil, fmt.Errorf("train: evaluation after epoch %d: %w", epoch+1, err)
			}
		}
		if epoch+1 < o.epochs && (stopping || o.evalData != "" && o.interrupted != nil && o.interrupted(it)) {
			return history, &trainInterrupted{ckpt: o.out + ".ckpt", epoch: epoch + 1, epochs: o.epochs, it: iters, iters: iters}
		}
	}
	if bar != nil {
		bar.Finish()
	}
	secs := time.Since(start).Seconds()
	n := len(history) * o.episodes
	fmt.Fprintf(stdout, "%d episodes in %.1fs (%.2f episodes/s, features: %d from the cache, %d computed)\n",
		n, secs, float64(n)/secs, feats.hits, feats.misses)
	return history, nil
}

// dropSeed is the seed of the dropout masks of episode i of iteration it (splitmix64
// of the three), so a resumed run draws the same masks.
func dropSeed(seed uint64, it, i int) uint64 {
	z := seed ^ uint64(it)<<20 ^ uint64(i) ^ 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
