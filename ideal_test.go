package ideal_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
)

const (
	tinyBackbone = "testdata/fixtures/dinov2-tiny/weights.safetensors"
	tinyImage    = "testdata/fixtures/dinov2-tiny/input.png" // 211×150
)

// fixtureEpisode is the episode of the fixture's references with the authors' head at
// S = 112 (opt sets the rest), closed when the test ends.
func fixtureEpisode(t *testing.T, opt ideal.Options) *ideal.Episode {
	t.Helper()
	normal, abnormal, _, mask, _ := fixtureInputs()
	opt.Head, opt.Size = headFixture+"head.safetensors", 112
	d, err := ideal.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ep, err := d.Episode(context.Background(), ideal.Refs{Normal: []ideal.Input{ideal.FromPatches("n", normal)},
		Abnormal: []ideal.Abnormal{{Input: ideal.FromPatches("a", abnormal), Mask: mask}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ep.Close)
	return ep
}

// The pipeline reproduces the authors' head on the fixture: every map within the
// bound the head's own fixture test uses.
func TestScoreMatchesFixture(t *testing.T) {
	_, _, query, _, exp := fixtureInputs()
	ep := fixtureEpisode(t, ideal.Options{Backend: kernels.NewReference()})
	r, err := ep.Score(context.Background(), ideal.FromPatches("q", query))
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]float32{"anomaly_map": r.Map, "normal_score": r.NormalScore, "image_score": {r.ImageScore}} {
		want := exp[name].Data
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); !(d <= 3e-5) {
				t.Fatalf("%s[%d] = %v, the authors' code %v", name, i, got[i], want[i])
			}
		}
	}
}

// Every bad input is an error that wraps ErrBadInput and names the input.
func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.png")
	os.WriteFile(corrupt, []byte("\x89PNG\r\n\x1a\nnot really"), 0o644)
	smallMask := filepath.Join(dir, "small.png")
	if err := imaging.WritePNG(smallMask, imaging.NewRGB(50, 50)); err != nil {
		t.Fatal(err)
	}
	hw, err := head.Init(48, 45, 1)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ideal.New(ideal.Options{Backbone: tinyBackbone, HeadWeights: hw, Size: 98, Backend: kernels.NewReference()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	nanFeats := tensor.FromData(make([]float32, 49*48), 49, 48)
	nanFeats.Data[7] = float32(math.NaN())
	img := ideal.File(tinyImage)
	cases := []struct {
		name string
		refs ideal.Refs
		want string
	}{
		{"no reference", ideal.Refs{}, "at least one normal or abnormal reference"},
		{"missing file", ideal.Refs{Normal: []ideal.Input{ideal.File(filepath.Join(dir, "nope.png"))}}, "nope.png"},
		{"corrupt image", ideal.Refs{Normal: []ideal.Input{ideal.File(corrupt)}}, "corrupt.png"},
		{"corrupt bytes", ideal.Refs{Normal: []ideal.Input{ideal.Bytes("upload", []byte("GIF89a"))}}, "upload"},
		{"mask size", ideal.Refs{Abnormal: []ideal.Abnormal{{Input: img, MaskPath: smallMask}}}, "mask is 50×50 but its image is 211×150"},
		{"no mask", ideal.Refs{Abnormal: []ideal.Abnormal{{Input: img}}}, "no mask given"},
		{"missing mask", ideal.Refs{Abnormal: []ideal.Abnormal{{Input: img, MaskPath: filepath.Join(dir, "nomask.png")}}}, "nomask.png"},
		{"NaN features", ideal.Refs{Normal: []ideal.Input{ideal.FromPatches("nan", nanFeats)}}, "nan: non-finite"},
		{"wrong width", ideal.Refs{Normal: []ideal.Input{ideal.FromPatches("narrow", tensor.FromData(make([]float32, 49*8), 49, 8))}}, "8 wide but the head expects 48"},
		{"not a grid", ideal.Refs{Normal: []ideal.Input{ideal.FromPatches("odd", tensor.FromData(make([]float32, 50*48), 50, 48))}}, "square patch grid"},
	}
	for _, c := range cases {
		_, err := d.Episode(context.Background(), c.refs)
		var ie *ideal.InputError
		if !errors.Is(err, ideal.ErrBadInput) || !errors.As(err, &ie) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want an ErrBadInput containing %q", c.name, err, c.want)
		}
	}
	normalOnly, err := ideal.New(ideal.Options{Size: 98})
	if err != nil {
		t.Fatal(err)
	}
	defer normalOnly.Close()
	if _, err := normalOnly.Episode(context.Background(), ideal.Refs{Normal: []ideal.Input{img}}); !errors.Is(err, ideal.ErrBadInput) || !strings.Contains(err.Error(), "backbone") {
		t.Errorf("an image without a backbone: %v", err)
	}
	if _, err := normalOnly.Episode(context.Background(), ideal.Refs{Abnormal: []ideal.Abnormal{{Input: img, Mask: imaging.NewMask(211, 150)}}}); !errors.Is(err, ideal.ErrBadInput) || !strings.Contains(err.Error(), "head") {
		t.Errorf("abnormal references without a head: %v", err)
	}
	if _, err := ideal.New(ideal.Options{Backbone: filepath.Join(dir, "missing.safetensors")}); !errors.Is(err, ideal.ErrBadInput) {
		t.Errorf("missing backbone file: %v", err)
	}
	if _, _, err := ideal.OpenBackend("quantum"); !errors.Is(err, ideal.ErrUnknownBackend) {
		t.Errorf("unknown backend: %v", err)
	}
}

// A cancelled context stops the work with an error that wraps context.Canceled.
func TestCancelled(t *testing.T) {
	d, err := ideal.New(ideal.Options{Backbone: tinyBackbone, Size: 98})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Episode(ctx, ideal.Refs{Normal: []ideal.Input{ideal.File(tinyImage)}}); !errors.Is(err, context.Canceled) {
		t.Errorf("episode: %v, want context.Canceled", err)
	}
	if d.Stats().Forwards != 0 {
		t.Error("a cancelled episode ran the backbone")
	}
}

// The memory cache serves an image seen before without a backbone pass; the disk
// cache does across detectors, and an entry it cannot use is recomputed with a warning.
func TestFeatureCaches(t *testing.T) {
	ctx := context.Background()
	cache := t.TempDir()
	var warnings []string
	open := func(mem int) *ideal.Detector {
		d, err := ideal.New(ideal.Options{Backbone: tinyBackbone, Size: 98, Cache: cache, MemoryCache: mem,
			Warn: func(s string) { warnings = append(warnings, s) }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	d := open(1 << 20)
	f1, err := d.Features(ctx, ideal.File(tinyImage))
	if err != nil {
		t.Fatal(err)
	}
	f2, err := d.Features(ctx, ideal.File(tinyImage))
	if err != nil {
		t.Fatal(err)
	}
	if s := d.Stats(); s.Forwards != 1 || s.MemoryHits != 1 || !slices.Equal(f1.Patches.Data, f2.Patches.Data) {
		t.Fatalf("stats %+v; want 1 pass and 1 memory hit with equal features", s)
	}
	d2 := open(0)
	f3, err := d2.Features(ctx, ideal.File(tinyImage))
	if err != nil {
		t.Fatal(err)
	}
	if s := d2.Stats(); s.Forwards != 0 || s.DiskHits != 1 || !slices.Equal(f1.Patches.Data, f3.Patches.Data) || f3.W != 211 || f3.H != 150 {
		t.Fatalf("second detector: stats %+v, size %d×%d; want a disk hit with equal features", s, f3.W, f3.H)
	}
	// Corrupt every entry: the next detector recomputes and says why.
	filepath.WalkDir(cache, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			os.WriteFile(p, []byte("garbage"), 0o644)
		}
		return nil
	})
	d3 := open(0)
	if _, err := d3.Features(ctx, ideal.File(tinyImage)); err != nil {
		t.Fatal(err)
	}
	if s := d3.Stats(); s.Forwards != 1 || len(warnings) != 1 || !strings.Contains(warnings[0], "recomputing") {
		t.Fatalf("corrupt entry: stats %+v, warnings %q", s, warnings)
	}
}

// Scoring from several goroutines at once gives what scoring one by one gives.
func TestConcurrentScores(t *testing.T) {
	normal, abnormal, query, _, _ := fixtureInputs()
	ep := fixtureEpisode(t, ideal.Options{})
	ctx := context.Background()
	var err error
	queries := []*tensor.Dense{query, normal, abnormal}
	want := make([]*ideal.Result, len(queries))
	for i, q := range queries {
		if want[i], err = ep.Score(ctx, ideal.FromPatches("q", q)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 4 {
		for i, q := range queries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := ep.Score(ctx, ideal.FromPatches("q", q))
				if err != nil || r.ImageScore != want[i].ImageScore || !slices.Equal(r.Map, want[i].Map) {
					t.Errorf("query %d scored concurrently: %v, score %v want %v", i, err, r.ImageScore, want[i].ImageScore)
				}
			}()
		}
	}
	wg.Wait()
}
