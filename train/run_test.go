package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/data/synth"
)

const tinyBackbone = "../testdata/fixtures/dinov2-tiny/weights.safetensors"

// runFixture makes the small synthetic data set the tests train on (two classes, 112
// pixels; the same as cmd/ideal's tests).
func runFixture(t *testing.T) (dir, dataDir string) {
	t.Helper()
	dir = t.TempDir()
	dataDir = filepath.Join(dir, "data")
	err := synth.Generate(dataDir, synth.Options{Size: 112, Seed: 5, Classes: []string{"fabric", "nut"},
		Train: 2, TestGood: 3, PerDefect: 1})
	if err != nil {
		t.Fatal(err)
	}
	return dir, dataDir
}

// opts are the options of the tests' runs: the command line's defaults at the tiny
// backbone's scale.
func opts(out string, epochs, episodes, batch int, seed uint64) Options {
	return Options{Out: out, Epochs: epochs, Episodes: episodes, Batch: batch, NShot: 1, AShot: 1,
		Vectors: 8, LR: 1e-3, Dropout: 0.1, Seed: seed}
}

// runOn trains on the data set with a detector of the tiny backbone and the feature
// cache folder cache.
func runOn(ctx context.Context, t *testing.T, dataDir, cache string, o Options) (*Report, error) {
	t.Helper()
	det, err := ideal.New(ideal.Options{Backbone: tinyBackbone, Size: 112, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	ds, err := data.Open(dataDir, data.FormatMVTec, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Run(ctx, det, ds, o)
}

// stopAfter returns a context cancelled once the run has done step iterations in all,
// and o with the event that cancels it.
func stopAfter(o Options, step int) (context.Context, Options) {
	ctx, cancel := context.WithCancel(context.Background())
	o.Events.Iteration = func(it Iteration) {
		if it.Step >= step {
			cancel()
		}
	}
	return ctx, o
}

func sameFiles(t *testing.T, what string, a, b string) {
	t.Helper()
	for _, suffix := range []string{"", ".ckpt"} {
		x, _ := os.ReadFile(a + suffix)
		y, _ := os.ReadFile(b + suffix)
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s wrote another %s than the uninterrupted run", what, filepath.Base(b)+suffix)
		}
	}
}

// noTempFiles fails the test if dir holds a temporary file of an atomic write.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// TestRunReproducible: the same seed gives the same head, byte for byte.
func TestRunReproducible(t *testing.T) {
	dir, dataDir := runFixture(t)
	var files [2][]byte
	for i := range files {
		out := filepath.Join(dir, fmt.Sprintf("h%d.safetensors", i))
		if _, err := runOn(context.Background(), t, dataDir, filepath.Join(dir, "cache"), opts(out, 2, 6, 3, 9)); err != nil {
			t.Fatal(err)
		}
		var err error
		if files[i], err = os.ReadFile(out); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("two runs with the same seed wrote different heads")
	}
}

// TestRunResume: a 4-epoch run stopped after epoch 2 and resumed from its checkpoint
// writes the same head and checkpoint, byte for byte, as the uninterrupted run; a
// checkpoint of other settings is refused.
func TestRunResume(t *testing.T) {
	dir, dataDir := runFixture(t)
	cache := filepath.Join(dir, "cache")
	full := filepath.Join(dir, "full.safetensors")
	if _, err := runOn(context.Background(), t, dataDir, cache, opts(full, 4, 4, 3, 5)); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(dir, "part.safetensors")
	o := opts(part, 4, 4, 3, 5)
	ctx, cancel := context.WithCancel(context.Background())
	o.Events.Epoch = func(e EpochDone) {
		if e.Epoch == 2 {
			cancel()
		}
	}
	rep, err := runOn(ctx, t, dataDir, cache, o)
	var st *Stopped
	if !errors.As(err, &st) || !errors.Is(err, context.Canceled) || st.Epoch != 2 || st.It != st.Iters || len(rep.Epochs) != 2 {
		t.Fatalf("run cancelled after epoch 2: %v, report %+v", err, rep)
	}
	o = opts(part, 4, 4, 3, 5)
	o.Resume = part + ".ckpt"
	if rep, err := runOn(context.Background(), t, dataDir, cache, o); err != nil || len(rep.Epochs) != 2 {
		t.Fatalf("resumed run: %+v, %v", rep, err)
	}
	sameFiles(t, "the resumed run", full, part)
	o.LR = 2e-3
	if _, err := runOn(context.Background(), t, dataDir, cache, o); err == nil || !strings.Contains(err.Error(), "other settings") {
		t.Errorf("resume with another learning rate: %v", err)
	}
}

// TestRunInterruptResume interrupts a 3-epoch run (4 iterations per epoch, the last one
// short) in epoch 1, at the end of epoch 1, in epoch 2 and in the last epoch, each time
// resuming from the checkpoint the interrupted run wrote: the chain writes the same
// head and checkpoint, byte for byte, and the same epoch losses, exactly, as the
// uninterrupted run.
func TestRunInterruptResume(t *testing.T) {
	dir, dataDir := runFixture(t)
	cache := filepath.Join(dir, "cache")
	full := filepath.Join(dir, "full.safetensors")
	want, err := runOn(context.Background(), t, dataDir, cache, opts(full, 3, 7, 2, 4))
	if err != nil {
		t.Fatal(err)
	}
	partDir := filepath.Join(dir, "part")
	if err := os.Mkdir(partDir, 0o755); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(partDir, "part.safetensors")
	var got []Losses
	resume := ""
	for _, c := range []struct {
		stopAt, epoch, it, ckEpoch, ckEpisodes, steps int
	}{
		{1, 1, 1, 0, 2, 1},    // within epoch 1
		{4, 1, 4, 1, 7, 4},    // after its last iteration: at the end of epoch 1
		{6, 2, 2, 1, 11, 6},   // within epoch 2
		{11, 3, 3, 2, 20, 11}, // within epoch 3, before its short last iteration
		{0, 0, 0, 3, 21, 12},  // to the end
	} {
		o := opts(part, 3, 7, 2, 4)
		o.Resume = resume
		ctx := context.Background()
		if c.stopAt > 0 {
			ctx, o = stopAfter(o, c.stopAt)
		}
		rep, err := runOn(ctx, t, dataDir, cache, o)
		if rep != nil {
			got = append(got, rep.Epochs...)
		}
		var st *Stopped
		switch {
		case c.stopAt == 0 && err != nil:
			t.Fatalf("the last resumed run: %v", err)
		case c.stopAt > 0 && (!errors.As(err, &st) || !st.Interrupted() || !errors.Is(err, context.Canceled)):
			t.Fatalf("stop after iteration %d: %v, want an interruption", c.stopAt, err)
		case st != nil && (st.Epoch != c.epoch || st.It != c.it || st.Iters != 4 || st.Ckpt != part+".ckpt"):
			t.Errorf("stop after iteration %d: %+v, want epoch %d, iteration %d of 4", c.stopAt, *st, c.epoch, c.it)
		}
		noTempFiles(t, partDir)
		ck, err := ReadCheckpoint(part + ".ckpt")
		if err != nil {
			t.Fatal(err)
		}
		if ck.Epoch != c.ckEpoch || ck.Episodes != c.ckEpisodes || ck.Opt.Steps() != c.steps {
			t.Errorf("stop after iteration %d: checkpoint at epoch %d, %d episodes drawn, %d steps; want %d, %d, %d",
				c.stopAt, ck.Epoch, ck.Episodes, ck.Opt.Steps(), c.ckEpoch, c.ckEpisodes, c.steps)
		}
		if c.stopAt == 6 { // a mid-epoch checkpoint whose position does not fit is refused
			ck.Meta[metaEpochIters] = "3"
			bad := filepath.Join(dir, "bad.ckpt")
			if err := ck.WriteFile(bad); err != nil {
				t.Fatal(err)
			}
			ob := opts(filepath.Join(dir, "bad.safetensors"), 3, 7, 2, 4)
			ob.Resume = bad
			if _, err := runOn(context.Background(), t, dataDir, cache, ob); err == nil || !strings.Contains(err.Error(), "does not fit") {
				t.Errorf("resume from a checkpoint with 3 iterations done and 11 episodes drawn: %v", err)
			}
		}
		resume = part + ".ckpt"
	}
	sameFiles(t, "the interrupted and resumed runs", full, part)
	if len(got) != 3 || fmt.Sprint(got) != fmt.Sprint(want.Epochs) {
		t.Errorf("epoch losses of the interrupted and resumed runs:\n%v\nwant\n%v", got, want.Epochs)
	}
	for i := range min(len(got), len(want.Epochs)) {
		if got[i] != want.Epochs[i] {
			t.Errorf("epoch %d: loss %+v, want exactly %+v", i+1, got[i], want.Epochs[i])
		}
	}
}

// TestRunBadImage: an image that cannot be read, met in the middle of an epoch, is
// reported once and the episodes drawing it are left out; the run is as reproducible
// as any (an interrupted and resumed run replays the same draws and writes the same
// head). With StopOnError the run stops there instead, keeping the iterations done in
// the checkpoint; once the image is fixed, Resume finishes with the head of a run that
// never met it, byte for byte.
func TestRunBadImage(t *testing.T) {
	dir, dataDir := runFixture(t)
	o := func(out string) Options { return opts(out, 2, 6, 2, 5) }
	mkdir := func(name string) string {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	full := filepath.Join(dir, "full.safetensors")
	if _, err := runOn(context.Background(), t, dataDir, filepath.Join(dir, "cache-full"), o(full)); err != nil {
		t.Fatal(err)
	}
	bad, orig := corruptSecondIteration(t, dataDir, o(full))

	// Left out: reported once, and reproducible through an interruption.
	skipDir := mkdir("skip")
	skipped := filepath.Join(skipDir, "skipped.safetensors")
	os1 := o(skipped)
	var reports []*ImageError
	os1.Events.Skipped = func(e *ImageError) { reports = append(reports, e) }
	rep, err := runOn(context.Background(), t, dataDir, filepath.Join(dir, "cache-skip"), os1)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 || reports[0].Path != bad || !strings.Contains(reports[0].Reason(), "corrupt png") ||
		!errors.Is(reports[0], ideal.ErrBadInput) || len(rep.Skipped) != 1 {
		t.Errorf("the bad image %s: reports %v, report %+v; want it once with the reason", bad, reports, rep)
	}
	a, _ := os.ReadFile(full)
	b, _ := os.ReadFile(skipped)
	if bytes.Equal(a, b) {
		t.Error("leaving episodes out changed nothing")
	}
	chained := filepath.Join(skipDir, "chained.safetensors")
	ctx, oi := stopAfter(o(chained), 2) // after the iteration that met the bad image
	if _, err := runOn(ctx, t, dataDir, filepath.Join(dir, "cache-skip"), oi); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	oi = o(chained)
	oi.Resume = chained + ".ckpt"
	if _, err := runOn(context.Background(), t, dataDir, filepath.Join(dir, "cache-skip"), oi); err != nil {
		t.Fatal(err)
	}
	if c, _ := os.ReadFile(chained); !bytes.Equal(b, c) {
		t.Error("interrupted and resumed, the run with a bad image wrote another head")
	}

	// StopOnError: stops with the work kept; fixed and resumed, the head of the full run.
	part := filepath.Join(mkdir("part"), "part.safetensors")
	op := o(part)
	op.StopOnError = true
	_, err = runOn(context.Background(), t, dataDir, filepath.Join(dir, "cache-part"), op)
	var st *Stopped
	var ie *ImageError
	if !errors.As(err, &st) || st.Interrupted() || !errors.As(err, &ie) || ie.Path != bad || st.Ckpt != part+".ckpt" {
		t.Fatalf("a truncated image with StopOnError: %v; want a *Stopped with its *ImageError", err)
	}
	t.Logf("%v", err)
	noTempFiles(t, filepath.Dir(part))
	ck, err := ReadCheckpoint(part + ".ckpt")
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 0 || ck.Episodes != op.Batch || ck.Meta[metaEpochIters] != "1" {
		t.Errorf("checkpoint at epoch %d, %d episodes, %s iterations; want 0, %d, 1", ck.Epoch, ck.Episodes, ck.Meta[metaEpochIters], op.Batch)
	}
	if err := os.WriteFile(bad, orig, 0o644); err != nil { // fixed
		t.Fatal(err)
	}
	op = o(part)
	op.Resume = part + ".ckpt"
	if _, err := runOn(context.Background(), t, dataDir, filepath.Join(dir, "cache-part"), op); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(part); len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("the resumed run's head differs from the uninterrupted run's")
	}
}

// corruptSecondIteration truncates the query of the first episode of the second
// iteration of a run with o, one whose images the first iteration did not use (the
// run meets it after one finished iteration); it returns its path and its content.
func corruptSecondIteration(t *testing.T, dataDir string, o Options) (string, []byte) {
	t.Helper()
	ds, err := data.Open(dataDir, data.FormatMVTec, nil)
	if err != nil {
		t.Fatal(err)
	}
	sampler, err := data.NewSampler(ds, o.NShot, o.AShot, o.Seed)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for range o.Batch {
		ep := sampler.Next()
		for _, s := range append(append(ep.Normal, ep.Abnormal...), ep.Query) {
			used[s.Path] = true
		}
	}
	bad := sampler.Next().Query.Path
	if used[bad] {
		t.Skipf("the seed's second iteration starts with an image of the first (%s); pick another seed", bad)
	}
	orig, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, orig[:len(orig)/3], 0o644); err != nil { // a truncated PNG
		t.Fatal(err)
	}
	return bad, orig
}

// TestRunOptions: bad options are refused before anything is read.
func TestRunOptions(t *testing.T) {
	for _, o := range []Options{
		{},
		{Out: "h", AShot: -1},
		{Out: "h", NShot: -1},
		{Out: "h", LR: -1},
		{Out: "h", Dropout: 1},
		{Out: "h", Batch: -2},
	} {
		if _, err := Run(context.Background(), nil, nil, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
