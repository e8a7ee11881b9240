package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
)

// Options configure a training run (Run). A zero count or rate takes the default
// noted; NShot and Dropout take 0 as given.
type Options struct {
	// Out is the head file, written (atomically, safetensors) after every epoch; the
	// checkpoint Out+".ckpt" is written with it, and when the run stops within an epoch.
	Out string

	Epochs   int     // epochs (0: 20)
	Episodes int     // episodes per epoch (0: 600)
	Batch    int     // episodes per iteration (0: 16)
	NShot    int     // normal references per episode (0: none)
	AShot    int     // abnormal references per episode (0: 1)
	Vectors  int     // deviation vectors M (0: head.DefaultVectors)
	LR       float64 // peak learning rate (0: 1e-3); see Schedule
	Dropout  float64 // dropout rate in training (spec §6), in [0, 1)
	Seed     uint64  // seed of the initialisation, the episode draw and the dropout masks

	// Precision of the loss and gradient ("": Float32, the fast path on the CPU
	// backend's kernels; Float64: the scalar oracle). The parameters, the optimiser
	// and the checkpoint are float64 either way, so a run may resume in the other.
	Precision Precision

	// Resume is a checkpoint (Out+".ckpt" of an earlier run with the same settings) to
	// continue from, exactly as if that run had not stopped ("": start afresh).
	Resume string

	// StopOnError stops the run at the first drawn image that cannot be used (keeping
	// the iterations done in the checkpoint; the error is a *Stopped wrapping an
	// *ImageError) instead of leaving out the episodes that draw it.
	StopOnError bool

	// OutputLock, when set, is held while the head and the checkpoint are written (a
	// program that exits at once on a second interrupt takes it first, so that the two
	// files always belong together).
	OutputLock sync.Locker

	// Events receive the progress (nil functions: not reported).
	Events Events

	// AfterEpoch, when set, is called after each epoch's head and checkpoint are
	// written (epoch is 1-based, head is Out): e.g. to evaluate the head. An error
	// ends the run.
	AfterEpoch func(ctx context.Context, epoch int, head string) error
}

// Events report a run's progress; each may be nil.
type Events struct {
	// Begin is called once before the first iteration: done of total iterations
	// (done > 0 when resuming).
	Begin func(done, total int)
	// Iteration is called after each iteration's optimiser step.
	Iteration func(Iteration)
	// Epoch is called after each epoch's head and checkpoint are written.
	Epoch func(EpochDone)
	// Skipped is called once for each image that an episode drew and that cannot be
	// used; the episodes that draw it are left out (others are drawn in their place).
	// Images the data set reader left out are in ds.Problems(), not reported here.
	Skipped func(*ImageError)
	// Warning is called with what the run works around (a class the sampler leaves
	// out, a mask that marks every pixel).
	Warning func(msg string)
}

// Iteration is the progress after one iteration (one optimiser step).
type Iteration struct {
	Epoch, Epochs int     // the epoch (1-based) of Epochs
	It, Iters     int     // the iteration within the epoch (1-based) of Iters
	Step, Steps   int     // iterations done in all (resumed ones included) of Steps
	Batch         int     // episodes in the iteration
	Loss          Losses  // the batch's mean loss
	LR            float64 // the learning rate of the step
}

// EpochDone is a finished epoch.
type EpochDone struct {
	Epoch, Epochs int    // 1-based
	Loss          Losses // the mean loss of its episodes
	Head, Ckpt    string // the files written
}

// Report is what a run did.
type Report struct {
	Epochs  []Losses // mean loss of each epoch finished by this call, in order
	Skipped []string // images left out because an episode could not use them
}

// ImageError is an image of a drawn episode that cannot be used: unreadable, corrupt,
// with non-finite features or a bad mask.
type ImageError struct {
	Class, Role, Path string // Role: "normal reference", "abnormal reference" or "query"
	Err               error
}

func (e *ImageError) Error() string {
	return fmt.Sprintf("class %s: %s %s: %s", e.Class, e.Role, e.Path, e.Reason())
}

func (e *ImageError) Unwrap() error { return e.Err }

// Reason is the error without the image's path.
func (e *ImageError) Reason() string { return strings.TrimPrefix(e.Err.Error(), e.Path+": ") }

// Stopped is the error of a run that stopped before its end with its work kept in the
// checkpoint, from which Options.Resume continues exactly: its context was cancelled
// (it then wraps ctx.Err() and context.Cause(ctx)) or an episode could not be drawn
// (it then wraps the reason: with StopOnError, the *ImageError of the image that
// cannot be used).
type Stopped struct {
	Ckpt          string // the checkpoint to resume from
	Epoch, Epochs int    // stopped in epoch Epoch (1-based) of Epochs
	It, Iters     int    // after iteration It of Iters of that epoch (It == Iters: at its end)
	Err           error  // ctx.Err() or why no episode could be drawn
	cause         error  // context.Cause, when it is not Err
}

// Interrupted reports whether the run stopped because its context was cancelled.
func (e *Stopped) Interrupted() bool {
	return errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded)
}

func (e *Stopped) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Err, e.cause}
	}
	return []error{e.Err}
}

func (e *Stopped) Error() string {
	if !e.Interrupted() {
		return fmt.Sprintf("%v\nthe work so far (epoch %d/%d, iteration %d of %d) is in %s",
			e.Err, e.Epoch, e.Epochs, e.It, e.Iters, e.Ckpt)
	}
	if e.It == e.Iters {
		return fmt.Sprintf("interrupted after epoch %d/%d; wrote %s", e.Epoch, e.Epochs, e.Ckpt)
	}
	head := "no head written yet"
	if e.Epoch > 1 {
		head = fmt.Sprintf("the head file holds epoch %d", e.Epoch-1)
	}
	return fmt.Sprintf("interrupted in epoch %d/%d after iteration %d/%d; wrote %s (%s)",
		e.Epoch, e.Epochs, e.It, e.Iters, e.Ckpt, head)
}

// Checkpoint metadata keys.
const (
	metaSettings = "settings" // the options a resumed run must share (Options.settings)
	metaBackbone = "backbone" // ideal.Detector.BackboneID
	// A run stopped within an epoch: the iterations done in it and the mean loss of
	// their episodes so far (JSON).
	metaEpochIters = "epoch_iterations"
	metaEpochLoss  = "epoch_loss"
	// The episodes drawn from the sampler, those left out for a bad image included
	// (absent: as many as the checkpoint's episodes).
	metaDraws = "sampler_draws"
)

// maxBadDraws bounds the episodes left out in a row before the run gives up.
const maxBadDraws = 1000

// MinLR is the learning rate the schedule starts from and ends at.
const MinLR = 1e-5

// withDefaults fills in the defaults and checks the options.
func (o Options) withDefaults() (Options, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Epochs, 20)
	def(&o.Episodes, 600)
	def(&o.Batch, 16)
	def(&o.AShot, 1)
	def(&o.Vectors, head.DefaultVectors)
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.Precision == "" {
		o.Precision = Float32
	}
	switch {
	case o.Precision != Float32 && o.Precision != Float64:
		return o, fmt.Errorf("precision %q: want %s or %s", o.Precision, Float32, Float64)
	case o.Out == "":
		return o, errors.New("no output head file (Options.Out)")
	case o.Epochs < 1 || o.Episodes < 1 || o.Batch < 1 || o.Vectors < 1:
		return o, fmt.Errorf("epochs %d, episodes %d, batch %d, vectors %d must be positive", o.Epochs, o.Episodes, o.Batch, o.Vectors)
	case o.NShot < 0 || o.AShot < 1:
		return o, fmt.Errorf("n-shot %d, a-shot %d: need n ≥ 0 and a ≥ 1", o.NShot, o.AShot)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return o, fmt.Errorf("learning rate %g must be a positive number", o.LR)
	case !(o.Dropout >= 0 && o.Dropout < 1):
		return o, fmt.Errorf("dropout %g must be in [0, 1)", o.Dropout)
	}
	return o, nil
}

// settings are the options a resumed run must share with the run it continues.
func (o Options) settings(ds *data.Dataset, size int) string {
	var classes []string
	for _, c := range ds.Classes {
		classes = append(classes, c.Name)
	}
	return fmt.Sprintf("format=%s epochs=%d episodes=%d batch=%d n-shot=%d a-shot=%d size=%d vectors=%d lr=%g dropout=%g classes=%s seed=%d",
		ds.Format, o.Epochs, o.Episodes, o.Batch, o.NShot, o.AShot, size, o.Vectors, o.LR, o.Dropout, strings.Join(classes, ","), o.Seed)
}

// run is the state of one Run.
type run struct {
	ctx      context.Context
	det      *ideal.Detector
	o        Options
	sampler  *data.Sampler
	settings string
	bbID     string
	iters    int // iterations per epoch
	it       int // iterations done in all
	draws    int // episodes drawn from the sampler
	sched    Schedule
	rep      *Report
	reported map[string]bool // images and masks already reported

	ck        *Checkpoint // resumed from
	skipIters int         // iterations of the first epoch done before the resumed run
	skipLoss  Losses      // and their share of the epoch's mean loss

	w      *head.Weights
	model  *head.Model
	params *Params
	opt    *AdamW
	grad   *Params
	fast   *Fast // the float32 path (nil: float64)
}

// Run trains a freshly initialised IDE head (spec §8) on episodes drawn from the test
// split of ds (data.Sampler), with the features of det (its backbone and feature
// cache; its head, if any, is not used): AdamW with amsgrad, the learning rate warmed
// up linearly from MinLR over 2 epochs then a cosine down to MinLR, per iteration of
// Batch episodes. After every epoch the head is written to Out and the checkpoint to
// Out+".ckpt" (parameters and AdamW state in float64, the sampler's position).
//
// A drawn episode with an image that cannot be used is left out and the image
// reported once (Events.Skipped), or with StopOnError the run stops there. When ctx is
// cancelled the run stops at the end of the current iteration, writes the checkpoint
// and returns a *Stopped that wraps ctx.Err(). The report holds the epochs finished,
// also when the run stopped.
func Run(ctx context.Context, det *ideal.Detector, ds *data.Dataset, opt Options) (*Report, error) {
	o, err := opt.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &run{ctx: ctx, det: det, o: o, rep: &Report{}, reported: map[string]bool{}}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("training not started: %w", err)
	}
	if r.sampler, err = data.NewSampler(ds, o.NShot, o.AShot, o.Seed); err != nil {
		return nil, err
	}
	for _, s := range r.sampler.Skipped() {
		r.warn("class left out: " + s)
	}
	r.settings = o.settings(ds, det.Size())
	if r.bbID, err = det.BackboneID(); err != nil {
		return nil, err
	}
	r.iters = (o.Episodes + o.Batch - 1) / o.Batch
	if o.Resume != "" {
		if err := r.resume(); err != nil {
			return nil, err
		}
	}
	defer func() {
		if r.model != nil {
			r.model.Close()
		}
	}()
	r.sched = Schedule{Peak: o.LR, Min: MinLR, Warmup: min(2, o.Epochs) * r.iters, Total: o.Epochs * r.iters}
	first := 0
	if r.ck != nil {
		first = r.ck.Epoch
	}
	r.it = first*r.iters + r.skipIters
	if o.Events.Begin != nil {
		o.Events.Begin(r.it, o.Epochs*r.iters)
	}
	for epoch := first; epoch < o.Epochs; epoch++ {
		if err := r.epoch(epoch, epoch == first); err != nil {
			return r.rep, err
		}
	}
	return r.rep, nil
}

func (r *run) warn(msg string) {
	if r.o.Events.Warning != nil {
		r.o.Events.Warning(msg)
	}
}

// resume reads the checkpoint to continue from, checks that it belongs to a run with
// the same settings and puts the sampler where that run stopped.
func (r *run) resume() error {
	o := r.o
	ck, err := ReadCheckpoint(o.Resume)
	if err != nil {
		return err
	}
	if got := ck.Meta[metaSettings]; got != r.settings {
		return fmt.Errorf("checkpoint %s was made with other settings:\n  checkpoint: %s\n  now:        %s", o.Resume, got, r.settings)
	}
	if ck.Meta[metaBackbone] != r.bbID {
		return fmt.Errorf("checkpoint %s was made with another backbone", o.Resume)
	}
	if ck.Epoch > o.Epochs {
		return fmt.Errorf("checkpoint %s is after epoch %d of %d", o.Resume, ck.Epoch, o.Epochs)
	}
	if v, ok := ck.Meta[metaEpochIters]; ok { // stopped within an epoch
		if r.skipIters, err = strconv.Atoi(v); err != nil || r.skipIters < 1 || r.skipIters >= r.iters ||
			ck.Epoch >= o.Epochs || ck.Episodes != ck.Epoch*o.Episodes+r.skipIters*o.Batch {
			return fmt.Errorf("checkpoint %s: %s = %q does not fit epoch %d and %d episodes drawn (%d iterations of %d episodes per epoch)",
				o.Resume, metaEpochIters, v, ck.Epoch, ck.Episodes, r.iters, o.Batch)
		}
		if err := json.Unmarshal([]byte(ck.Meta[metaEpochLoss]), &r.skipLoss); err != nil {
			return fmt.Errorf("checkpoint %s: %s: %v", o.Resume, metaEpochLoss, err)
		}
	}
	r.draws = ck.Episodes
	if v, ok := ck.Meta[metaDraws]; ok {
		if r.draws, err = strconv.Atoi(v); err != nil || r.draws < ck.Episodes {
			return fmt.Errorf("checkpoint %s: %s = %q is not a count of at least %d episodes", o.Resume, metaDraws, v, ck.Episodes)
		}
	}
	for range r.draws { // the sampler where the run stopped
		r.sampler.Next()
	}
	r.ck = ck
	return nil
}

// epoch runs epoch (0-based; first: the first of this call, which may continue within
// it), writes the head and the checkpoint and calls AfterEpoch.
func (r *run) epoch(epoch int, first bool) error {
	o := r.o
	var mean Losses
	done, from := 0, 0
	if first && r.skipIters > 0 {
		mean, done, from = r.skipLoss, r.skipIters*o.Batch, r.skipIters
	}
	for k := from; k < r.iters; k++ {
		batchDraws := r.draws // a stopped iteration is redone from here on resume
		batch, err := r.drawBatch(min(o.Batch, o.Episodes-done))
		if err != nil {
			if k == from { // nothing done since the last checkpoint
				return err
			}
			r.draws = batchDraws
			if serr := r.saveWithinEpoch(epoch, k, done, mean); serr != nil {
				return fmt.Errorf("%w (and the checkpoint could not be written: %v)", err, serr)
			}
			return &Stopped{Ckpt: o.Out + ".ckpt", Epoch: epoch + 1, Epochs: o.Epochs, It: k, Iters: r.iters, Err: err}
		}
		l, err := r.step(batch, epoch)
		if err != nil {
			return err
		}
		done += len(batch)
		mean.Add(l, float64(len(batch))/float64(o.Episodes))
		r.it++
		if o.Events.Iteration != nil {
			o.Events.Iteration(Iteration{Epoch: epoch + 1, Epochs: o.Epochs, It: k + 1, Iters: r.iters,
				Step: r.it, Steps: o.Epochs * r.iters, Batch: len(batch), Loss: l, LR: r.sched.At(r.it - 1)})
		}
		if r.ctx.Err() != nil && k < r.iters-1 {
			if err := r.saveWithinEpoch(epoch, k+1, done, mean); err != nil {
				return err
			}
			return r.interrupted(epoch, k+1)
		}
	}
	return r.endEpoch(epoch, mean)
}

// interrupted is the error of a run whose context was cancelled after iteration it of
// epoch (0-based).
func (r *run) interrupted(epoch, it int) error {
	s := &Stopped{Ckpt: r.o.Out + ".ckpt", Epoch: epoch + 1, Epochs: r.o.Epochs, It: it, Iters: r.iters, Err: r.ctx.Err()}
	if c := context.Cause(r.ctx); c != nil && c != s.Err {
		s.cause = c
	}
	return s
}

// endEpoch records a finished epoch, writes the head and the checkpoint and calls
// AfterEpoch; a cancelled context then stops the run.
func (r *run) endEpoch(epoch int, mean Losses) error {
	o := r.o
	r.rep.Epochs = append(r.rep.Epochs, mean)
	ck := &Checkpoint{Params: r.params, Opt: r.opt, Epoch: epoch + 1, Episodes: (epoch + 1) * o.Episodes,
		Meta: map[string]string{metaSettings: r.settings, metaBackbone: r.bbID, metaDraws: strconv.Itoa(r.draws)}}
	if err := r.write(ck, true); err != nil {
		return err
	}
	if o.Events.Epoch != nil {
		o.Events.Epoch(EpochDone{Epoch: epoch + 1, Epochs: o.Epochs, Loss: mean, Head: o.Out, Ckpt: o.Out + ".ckpt"})
	}
	last := epoch+1 == o.Epochs
	if o.AfterEpoch != nil {
		if err := o.AfterEpoch(r.ctx, epoch+1, o.Out); err != nil && (last || r.ctx.Err() == nil) {
			return fmt.Errorf("after epoch %d: %w", epoch+1, err)
		}
	}
	if !last && r.ctx.Err() != nil {
		return r.interrupted(epoch, r.iters)
	}
	return nil
}

// write writes the checkpoint and, with withHead, the head before it, holding
// OutputLock.
func (r *run) write(ck *Checkpoint, withHead bool) error {
	if r.o.OutputLock != nil {
		r.o.OutputLock.Lock()
		defer r.o.OutputLock.Unlock()
	}
	if withHead {
		if err := r.params.Weights(r.w.Config).WriteFile(r.o.Out); err != nil {
			return err
		}
	}
	return ck.WriteFile(r.o.Out + ".ckpt")
}

// saveWithinEpoch writes the checkpoint of a run stopped within epoch after its first
// iters iterations (done episodes, mean loss so far), which Resume continues.
func (r *run) saveWithinEpoch(epoch, iters, done int, mean Losses) error {
	loss, err := json.Marshal(mean)
	if err != nil {
		return err
	}
	ck := &Checkpoint{Params: r.params, Opt: r.opt, Epoch: epoch, Episodes: epoch*r.o.Episodes + done,
		Meta: map[string]string{metaSettings: r.settings, metaBackbone: r.bbID,
			metaEpochIters: strconv.Itoa(iters), metaEpochLoss: string(loss), metaDraws: strconv.Itoa(r.draws)}}
	return r.write(ck, false)
}

// step computes the batch's loss and gradient and takes the optimiser step (on the
// float32 path, the gradient goes from the workers to the step in one pass).
func (r *run) step(batch []*Sample, epoch int) (Losses, error) {
	var l Losses
	var err error
	if r.fast != nil {
		l, err = r.fast.BatchLoss(r.params, batch, nil)
	} else {
		l, err = BatchLoss(r.params, batch, r.grad)
	}
	if err != nil {
		return l, fmt.Errorf("epoch %d, iteration %d: %w", epoch+1, r.it+1, err)
	}
	if math.IsNaN(l.Total()) || math.IsInf(l.Total(), 0) {
		return l, fmt.Errorf("epoch %d, iteration %d: the loss is %v", epoch+1, r.it+1, l.Total())
	}
	if r.fast != nil {
		r.fast.Step(r.opt, r.params, r.sched.At(r.it))
	} else {
		r.opt.Step(r.params, r.grad, r.sched.At(r.it))
	}
	return l, nil
}

// drawBatch draws the n samples of the next iteration, with their dropout seeds.
func (r *run) drawBatch(n int) ([]*Sample, error) {
	var batch []*Sample
	for range n {
		s, err := r.drawSample()
		if err != nil {
			return nil, err
		}
		s.DropRate, s.DropSeed = r.o.Dropout, dropSeed(r.o.Seed, r.it, len(batch))
		batch = append(batch, s)
	}
	return batch, nil
}

// drawSample draws episodes until one whose images can all be used: an episode with a
// bad image is left out (the image reported once), unless StopOnError.
func (r *run) drawSample() (*Sample, error) {
	for range maxBadDraws {
		ep := r.sampler.Next()
		r.draws++
		s, err := r.sample(ep)
		var bad *ImageError
		if !errors.As(err, &bad) {
			if err != nil {
				return nil, fmt.Errorf("class %s: %w", ep.Class, err)
			}
			return s, nil
		}
		if r.o.StopOnError {
			return nil, err
		}
		if !r.reported[bad.Path] {
			r.reported[bad.Path] = true
			r.rep.Skipped = append(r.rep.Skipped, bad.Path)
			if r.o.Events.Skipped != nil {
				r.o.Events.Skipped(bad)
			}
		}
	}
	return nil, fmt.Errorf("%d episodes in a row had an image that cannot be used; the data set is too damaged to train on", maxBadDraws)
}

// sample turns a drawn episode into the parameter-independent training sample.
func (r *run) sample(ep data.TrainEpisode) (*Sample, error) {
	var normals []*tensor.Dense
	for _, s := range ep.Normal {
		f, err := r.features(ep.Class, "normal reference", s.Path)
		if err != nil {
			return nil, err
		}
		normals = append(normals, f.Patches)
	}
	var abn []head.Abnormal
	for _, s := range ep.Abnormal {
		f, err := r.features(ep.Class, "abnormal reference", s.Path)
		if err != nil {
			return nil, err
		}
		grid, err := r.patchMask(s.MaskPath, f)
		if err != nil {
			return nil, &ImageError{Class: ep.Class, Role: "abnormal reference", Path: s.Path, Err: err}
		}
		abn = append(abn, head.Abnormal{Features: f.Patches, Mask: grid})
	}
	q, err := r.features(ep.Class, "query", ep.Query.Path)
	if err != nil {
		return nil, err
	}
	if err := r.initModel(q.Patches.Shape[1]); err != nil {
		return nil, err
	}
	side := r.det.Size()
	mask := make([]float32, side*side)
	label := 0
	if ep.Query.Anomalous {
		label = 1
		if err := queryMask(mask, ep.Query.MaskPath, q, side); err != nil {
			return nil, &ImageError{Class: ep.Class, Role: "query", Path: ep.Query.Path, Err: err}
		}
	}
	return NewSample(r.model, normals, abn, q.Patches, label, mask, side)
}

// features returns an image's features from the detector. An error about the image
// (not, e.g., about the backbone's file) is an *ImageError.
func (r *run) features(class, role, path string) (*ideal.Features, error) {
	// The context is not passed on: a cancelled run finishes its iteration.
	f, err := r.det.Features(context.WithoutCancel(r.ctx), ideal.File(path))
	if err == nil {
		return f, nil
	}
	var ie *ideal.InputError
	if errors.As(err, &ie) && (ie.Path == "" || ie.Path == path) {
		return nil, &ImageError{Class: class, Role: role, Path: path, Err: err}
	}
	return nil, err
}

// patchMask reads an abnormal reference's mask and maps it onto the patch grid
// (ideal.PatchMask); a mask that marks every pixel is warned about once.
func (r *run) patchMask(path string, f *ideal.Features) ([]bool, error) {
	m, err := imaging.ReadMask(path)
	if err != nil {
		return nil, err
	}
	grid, warning, err := ideal.PatchMask(m, f)
	if err != nil {
		return nil, fmt.Errorf("mask %s: %w", path, err)
	}
	if warning != "" && !r.reported[path] {
		r.reported[path] = true
		r.warn(fmt.Sprintf("mask %s: %s", path, warning))
	}
	return grid, nil
}

// queryMask reads the query's mask, checks it against the image's size, resizes it to
// side×side (imaging.Mask.Prepare) and sets mask to 1 on its defect pixels.
func queryMask(mask []float32, path string, q *ideal.Features, side int) error {
	m, err := imaging.ReadMask(path)
	if err != nil {
		return err
	}
	if q.W > 0 {
		if err := imaging.CheckMaskSize(q.W, q.H, m.W, m.H); err != nil {
			return fmt.Errorf("mask %s: %w", path, err)
		}
	}
	s, _, err := m.Prepare(side, q.Patch)
	if err != nil {
		return fmt.Errorf("mask %s: %w", path, err)
	}
	for i, v := range s.Pix {
		if v {
			mask[i] = 1
		}
	}
	return nil
}

// initModel makes the head on the first features (their width C is then known), or
// takes the resumed checkpoint's parameters and optimiser state.
func (r *run) initModel(c int) error {
	if r.model != nil {
		return nil
	}
	w, err := head.Init(c, r.o.Vectors, r.o.Seed)
	if err != nil {
		return err
	}
	params := FromWeights(w)
	opt := NewAdamW(params)
	if ck := r.ck; ck != nil {
		if p := ck.Params; p.C != params.C || p.M != params.M || p.Heads != params.Heads {
			return fmt.Errorf("checkpoint %s: width %d, %d vectors, %d heads; the features need width %d, %d vectors, %d heads",
				r.o.Resume, p.C, p.M, p.Heads, params.C, params.M, params.Heads)
		}
		params, opt = ck.Params, ck.Opt
	}
	// The NVE, position code and s_n do not depend on the weights.
	r.w, r.model, r.params, r.opt = w, head.New(r.det.Backend(), w), params, opt
	r.grad = NewParams(params.C, params.M, params.Heads)
	if r.o.Precision == Float32 {
		r.fast = NewFast(0)
	}
	return nil
}

// dropSeed is the seed of the dropout masks of episode i of iteration it (splitmix64
// of the three), so a resumed run draws the same masks.
func dropSeed(seed uint64, it, i int) uint64 {
	z := seed ^ uint64(it)<<20 ^ uint64(i) ^ 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}
