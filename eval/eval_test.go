package eval_test

import (
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
	"github.com/ideal-fsad/ideal/eval"
	"github.com/ideal-fsad/ideal/model/head"
)

// fixture writes a small synthetic data set (fabric and nut at 112×112) and returns it
// opened, with a detector of the tiny backbone and a fresh head.
func fixture(t *testing.T) (*data.Dataset, *ideal.Detector) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "data")
	err := synth.Generate(root, synth.Options{Size: 112, Seed: 5, Classes: []string{"fabric", "nut"}, Train: 2, TestGood: 3, PerDefect: 1})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := data.Open(root, data.FormatMVTec, nil)
	if err != nil {
		t.Fatal(err)
	}
	hw, err := head.Init(48, head.DefaultVectors, 2)
	if err != nil {
		t.Fatal(err)
	}
	det, err := ideal.New(ideal.Options{Backbone: tinyBackbone, HeadWeights: hw, Size: 112})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { det.Close() })
	return ds, det
}

// recorder is a Sink that logs the events and keeps the queries.
type recorder struct {
	events  []string
	queries []*eval.Query
	onQuery func(n int) // called after each query with the count so far
}

func (r *recorder) Begin(rep *eval.Report, eps []*data.Episode) {
	r.events = append(r.events, fmt.Sprintf("begin %d", len(eps)))
}
func (r *recorder) ClassStart(i int, ep *data.Episode) {
	r.events = append(r.events, fmt.Sprintf("start %d %s", i, ep.Class))
}
func (r *recorder) Query(q *eval.Query) error {
	r.queries = append(r.queries, q)
	r.events = append(r.events, "query")
	if r.onQuery != nil {
		r.onQuery(len(r.queries))
	}
	return nil
}
func (r *recorder) Skipped(path, reason string) { r.events = append(r.events, "skipped "+path) }
func (r *recorder) ClassDone(ep *data.Episode, rep *eval.Report, evaluated bool) error {
	r.events = append(r.events, fmt.Sprintf("done %s %v %d", ep.Class, evaluated, len(rep.Classes)))
	return nil
}
func (r *recorder) End(rep *eval.Report) error {
	r.events = append(r.events, fmt.Sprintf("end %d", len(rep.Classes)))
	return nil
}

// TestRunIsEpisodeScore: every query's result is what ideal.Episode.Score gives for
// the class's references (one pipeline), and its pixel map is Result.PixelMap.
func TestRunIsEpisodeScore(t *testing.T) {
	ds, det := fixture(t)
	rec := &recorder{}
	rep, err := eval.Run(context.Background(), det, ds, eval.Options{NShot: 1, AShot: 1, Seed: 1}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Classes) != 2 || rep.Mode != "IDEAL" || len(rep.Episodes) != 2 || rep.Size != 112 {
		t.Fatalf("report %+v", rep)
	}
	eps, err := data.Episodes(ds, nil, data.EpisodeOptions{NShot: 1, AShot: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	for _, dep := range eps {
		var refs ideal.Refs
		for _, s := range dep.Normal {
			refs.Normal = append(refs.Normal, ideal.File(s.Path))
		}
		for _, s := range dep.Abnormal {
			refs.Abnormal = append(refs.Abnormal, ideal.Abnormal{Input: ideal.File(s.Path), MaskPath: s.MaskPath})
		}
		ep, err := det.Episode(ctx, refs)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range dep.Queries {
			q := rec.queries[i]
			i++
			r, err := ep.Score(ctx, ideal.File(s.Path))
			if err != nil {
				t.Fatal(err)
			}
			if q.Sample.Path != s.Path || q.Result.ImageScore != r.ImageScore || fmt.Sprint(q.Result.Map) != fmt.Sprint(r.Map) {
				t.Fatalf("%s: eval.Run scored %v, Episode.Score %v", s.Path, q.Result.ImageScore, r.ImageScore)
			}
			if fmt.Sprint(q.Pixels) != fmt.Sprint(r.PixelMap()) {
				t.Fatalf("%s: the pixel map is not Result.PixelMap", s.Path)
			}
		}
		ep.Close()
	}
	if i != len(rec.queries) {
		t.Errorf("%d queries seen, %d in the episodes", len(rec.queries), i)
	}
}

// TestRunCancel cancels the run in the middle of its second class: Run returns the
// first class and a *StoppedError wrapping context.Canceled, and the sink saw the
// events in order.
func TestRunCancel(t *testing.T) {
	ds, det := fixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{}
	first := 0
	rec.onQuery = func(n int) {
		if first > 0 && n == first+3 {
			cancel()
		}
	}
	sink := &firstClass{recorder: rec, first: &first}
	rep, err := eval.Run(ctx, det, ds, eval.Options{NShot: 1, AShot: 0, Seed: 1}, sink)
	var stopped *eval.StoppedError
	if !errors.As(err, &stopped) || !errors.Is(err, context.Canceled) || stopped.Done != 1 || stopped.Of != 2 {
		t.Fatalf("error %v, want a run stopped after 1 of 2 classes", err)
	}
	if len(rep.Classes) != 1 || rep.Classes[0].Class != "fabric" || rep.Mode != "normal-only" {
		t.Fatalf("classes %+v", rep.Classes)
	}
	got := strings.Join(rec.events, ",")
	want := "begin 2,start 0 fabric," + strings.Repeat("query,", first) + "done fabric true 1,start 1 nut,query,query,query,end 1"
	if got != want {
		t.Errorf("events\n%s\nwant\n%s", got, want)
	}
}

// firstClass counts the queries of the first class into first.
type firstClass struct {
	*recorder
	first *int
}

func (f *firstClass) ClassDone(ep *data.Episode, rep *eval.Report, evaluated bool) error {
	if *f.first == 0 {
		*f.first = len(f.queries)
	}
	return f.recorder.ClassDone(ep, rep, evaluated)
}

// TestRunBadImages: a corrupt query is left out with its reason; with StopOnError it
// ends the run as a *BadImageError that wraps ideal.ErrBadInput. A class whose
// reference is bad is left out and the other goes on.
func TestRunBadImages(t *testing.T) {
	ds, det := fixture(t)
	bad := filepath.Join(ds.Root, "nut", "test", "good", "001.png")
	if err := os.WriteFile(bad, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := eval.Options{NShot: 1, AShot: 0, Seed: 1}
	rep, err := eval.Run(context.Background(), det, ds, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Skipped) != 1 || !strings.HasPrefix(rep.Skipped[0], bad+": imaging: ") || len(rep.Classes) != 2 {
		t.Errorf("skipped %q, %d classes", rep.Skipped, len(rep.Classes))
	}

	opts.StopOnError = true
	rep, err = eval.Run(context.Background(), det, ds, opts, nil)
	var badErr *eval.BadImageError
	if !errors.As(err, &badErr) || badErr.Path != bad || !errors.Is(err, ideal.ErrBadInput) || len(rep.Classes) != 1 {
		t.Errorf("error %v, %d classes; want a bad-image stop after fabric", err, len(rep.Classes))
	}

	// fabric's normal reference (its only training images) unreadable.
	trains, _ := filepath.Glob(filepath.Join(ds.Root, "fabric", "train", "good", "*.png"))
	for _, p := range trains {
		os.WriteFile(p, nil, 0o644)
	}
	opts.StopOnError = false
	rep, err = eval.Run(context.Background(), det, ds, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Classes) != 1 || rep.Classes[0].Class != "nut" || !strings.HasPrefix(rep.Skipped[0], "class fabric: normal reference") {
		t.Errorf("classes %+v, skipped %q", rep.Classes, rep.Skipped)
	}
}
