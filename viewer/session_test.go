package viewer

import (
	"context"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

// tinyBackbone is the fixture backbone (width 48, patch 14); tests use S = 112 (G = 8).
const (
	tinyBackbone = "../testdata/fixtures/dinov2-tiny/weights.safetensors"
	tinySize     = 112
)

// scoringCase is a small synthetic inspection case on disk.
type scoringCase struct {
	in      Inputs
	defect  image.Rectangle // the query's defect, in its pixels
	abnRect image.Rectangle // the abnormal reference's defect (and mask)
}

// texture draws a 128×128 image: a smooth pattern with a bright square over each rect.
func texture(rects ...image.Rectangle) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 128, 128))
	for y := range 128 {
		for x := range 128 {
			p := img.Pix[4*(y*128+x):]
			p[0] = uint8(100 + 40*math.Sin(float64(x)/5))
			p[1] = uint8(100 + 40*math.Cos(float64(y)/7))
			p[2] = uint8(90 + 30*math.Sin(float64(x+y)/9))
			p[3] = 255
			for _, r := range rects {
				if image.Pt(x, y).In(r) {
					p[0], p[1], p[2] = 250, 240, 40
				}
			}
		}
	}
	return img
}

// writeScoringCase writes two normal references, one abnormal reference with its mask,
// two queries (one with a defect) and a freshly initialised head of width 48.
func writeScoringCase(t *testing.T, dir string) *scoringCase {
	t.Helper()
	c := &scoringCase{defect: image.Rect(72, 24, 104, 56), abnRect: image.Rect(16, 72, 48, 104)}
	write := func(name string, img image.Image) string {
		p := filepath.Join(dir, name)
		if err := imaging.WritePNG(p, img); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mask := image.NewGray(image.Rect(0, 0, 128, 128))
	for y := c.abnRect.Min.Y; y < c.abnRect.Max.Y; y++ {
		for x := c.abnRect.Min.X; x < c.abnRect.Max.X; x++ {
			mask.Pix[y*128+x] = 255
		}
	}
	hw, err := head.Init(48, 10, 7)
	if err != nil {
		t.Fatal(err)
	}
	headPath := filepath.Join(dir, "head.safetensors")
	if err := hw.WriteFile(headPath); err != nil {
		t.Fatal(err)
	}
	c.in = Inputs{Backbone: tinyBackbone, Head: headPath, Size: tinySize,
		Normal:   []string{write("normal1.png", texture()), write("normal2.png", texture(image.Rect(0, 0, 1, 1)))},
		Abnormal: []Ref{{Path: write("abnormal.png", texture(c.abnRect)), Mask: write("abnormal_mask.png", mask)}},
		Queries:  []string{write("good.png", texture()), write("bad.png", texture(c.defect))},
	}
	return c
}

// direct scores the case's queries with the given abnormal mask file straight through
// the backbone and the head (as `ideal score` does), without the session.
func direct(t *testing.T, in Inputs, maskPath string) []*head.Result {
	t.Helper()
	be := cpu.New()
	bb, err := dinov2.Load(in.Backbone, dinov2.Options{})
	if err != nil {
		t.Fatal(err)
	}
	feats := func(p string) (*tensor.Dense, int, int) {
		px, w, h, err := imaging.Preprocess(p, in.Size)
		if err != nil {
			t.Fatal(err)
		}
		f, err := bb.Features(be, px, in.Size)
		if err != nil {
			t.Fatal(err)
		}
		return f, w, h
	}
	hw, err := head.Load(in.Head, "")
	if err != nil {
		t.Fatal(err)
	}
	var normals []*tensor.Dense
	for _, p := range in.Normal {
		f, _, _ := feats(p)
		normals = append(normals, f)
	}
	fa, w, h := feats(in.Abnormal[0].Path)
	_, pm, err := imaging.PrepareMask(maskPath, w, h, in.Size, bb.Patch)
	if err != nil {
		t.Fatal(err)
	}
	m := head.New(be, hw)
	defer m.Close()
	ep, err := m.NewEpisode(normals, []head.Abnormal{{Features: fa, Mask: pm}})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	var out []*head.Result
	for _, p := range in.Queries {
		f, _, _ := feats(p)
		r, err := ep.Score(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// sameResults compares the session's queries (input order) with direct results.
func sameResults(t *testing.T, what string, got []*Query, want []*head.Result) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d results, want %d", what, len(got), len(want))
	}
	close := func(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-5*(1+math.Abs(float64(b))) }
	for i, q := range got {
		r := want[i]
		if !close(q.ImageScore, r.ImageScore) || q.Grid != r.Grid {
			t.Errorf("%s: %s: score %v grid %d, want %v grid %d", what, q.Name, q.ImageScore, q.Grid, r.ImageScore, r.Grid)
		}
		for k, m := range [][]float32{r.Map, r.NormalScore, r.DeviationScore} {
			for j := range m {
				if !close(q.Maps[k][j], m[j]) {
					t.Errorf("%s: %s: %s[%d] = %v, want %v", what, q.Name, MapKind(k), j, q.Maps[k][j], m[j])
					break
				}
			}
		}
	}
}

func startSession(t *testing.T, in Inputs) *Session {
	t.Helper()
	s, err := Open(in)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.Start()
	return s
}

// TestSessionRescoreParity paints the abnormal reference's mask over another region
// through a zoomed and panned editor and checks that the re-scored maps are those of
// scoring the same inputs with the saved mask through the backbone and head directly.
func TestSessionRescoreParity(t *testing.T) {
	dir := t.TempDir()
	c := writeScoringCase(t, dir)
	s := startSession(t, c.in)
	if p := s.Wait(); p.Err != nil || p.Stage != "done" || p.Done != 2 || p.Total != 2 || p.Pass != 1 || p.Busy {
		t.Fatalf("first pass: %+v", p)
	}
	first, v1 := s.Results()
	sameResults(t, "first pass", first, direct(t, c.in, c.in.Abnormal[0].Mask))
	if first[1].Image == nil || first[1].Image.W != 128 {
		t.Errorf("query image not kept for display")
	}
	runs := s.featureRuns

	// Erase the original defect with one wide stroke, paint a square over (72..103,
	// 24..55) — the query's defect region — with a small brush, through zoom 2 and pan.
	ref := s.References()[2]
	if !ref.Abnormal || ref.Mask.Count() != 32*32 {
		t.Fatalf("reference 3: %+v", ref)
	}
	e := NewEditor(0, ref.Image, ref.Mask)
	e.View = View{Zoom: 2, PanX: 30, PanY: -12}
	scr := func(ix, iy float64) (float64, float64) { return 30 + 2*ix, -12 + 2*iy }
	e.Brush = 30
	x, y := scr(32, 88)
	e.Begin(x, y, true)
	e.MoveTo(scr(33, 88))
	if !e.End() || !e.Mask.Empty() {
		t.Fatalf("erasing left %d defect pixels", e.Mask.Count())
	}
	e.Brush = 2
	for iy := 25.0; iy < 56; iy += 2 {
		x, y := scr(73, iy)
		e.Begin(x, y, false)
		e.MoveTo(scr(103, iy))
		e.End()
	}
	if e.Mask.Count() == 0 {
		t.Fatal("painting set nothing")
	}
	if err := s.SetMask(0, e.Mask); err != nil {
		t.Fatal(err)
	}
	if p := s.Wait(); p.Err != nil || p.Pass != 2 || p.Done != 2 {
		t.Fatalf("re-score: %+v", p)
	}
	second, v2 := s.Results()
	if v2 == v1 {
		t.Error("results version unchanged by the re-score")
	}
	if s.featureRuns != runs {
		t.Errorf("the re-score ran the backbone %d more times", s.featureRuns-runs)
	}
	saved, err := s.SaveMask(0)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "abnormal_mask_edited.png"); saved != want {
		t.Errorf("saved to %s, want %s", saved, want)
	}
	back, err := imaging.ReadMask(saved)
	if err != nil {
		t.Fatal(err)
	}
	for i := range back.Pix {
		if back.Pix[i] != e.Mask.Pix[i] {
			t.Fatalf("saved mask differs from the edited one at pixel %d", i)
		}
	}
	sameResults(t, "after painting", second, direct(t, c.in, saved))
	var changed bool
	for j := range first[1].Maps[MapSA] {
		changed = changed || math.Abs(float64(first[1].Maps[MapSA][j]-second[1].Maps[MapSA][j])) > 1e-4
	}
	if !changed {
		t.Error("moving the mask did not change s_a of the defective query")
	}
	// The original mask file is untouched; a second save reuses the session's file.
	if m, err := imaging.ReadMask(c.in.Abnormal[0].Mask); err != nil || m.Count() != 32*32 {
		t.Errorf("original mask changed: %v", err)
	}
	if again, err := s.SaveMask(0); err != nil || again != saved {
		t.Errorf("second save: %s, %v", again, err)
	}
	if !s.References()[2].Edited {
		t.Error("reference not marked edited")
	}
}

func TestSessionOpenErrors(t *testing.T) {
	dir := t.TempDir()
	c := writeScoringCase(t, dir)
	small := filepath.Join(dir, "small_mask.png")
	if err := imaging.WritePNG(small, image.NewGray(image.Rect(0, 0, 64, 64))); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		edit func(in *Inputs)
		want string
	}{
		"no query":         {func(in *Inputs) { in.Queries = nil }, "no query"},
		"no reference":     {func(in *Inputs) { in.Normal, in.Abnormal = nil, nil }, "at least one"},
		"no head":          {func(in *Inputs) { in.Head = "" }, "--head"},
		"no backbone":      {func(in *Inputs) { in.Backbone = "" }, "--backbone"},
		"missing query":    {func(in *Inputs) { in.Queries = []string{filepath.Join(dir, "nope.png")} }, "nope.png"},
		"missing mask":     {func(in *Inputs) { in.Abnormal[0].Mask = filepath.Join(dir, "nope_mask.png") }, "nope_mask.png"},
		"no mask":          {func(in *Inputs) { in.Abnormal[0].Mask = "" }, "no mask"},
		"mask size":        {func(in *Inputs) { in.Abnormal[0].Mask = small }, "64"},
		"zero size":        {func(in *Inputs) { in.Size = 0 }, "size"},
		"query masks":      {func(in *Inputs) { in.QueryMasks = []string{""} }, "query masks"},
		"missing backbone": {func(in *Inputs) { in.Backbone = filepath.Join(dir, "nope.safetensors") }, "nope.safetensors"},
	} {
		in := c.in
		in.Abnormal = append([]Ref(nil), c.in.Abnormal...)
		tc.edit(&in)
		if _, err := Open(in); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "viewer: ") {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, tc.want)
		}
	}
}

// TestSessionErrorsInBackground: what only the work finds out (weights that do not
// load, a size the backbone cannot take, a wrong edit) is reported through Progress.
func TestSessionErrorsInBackground(t *testing.T) {
	dir := t.TempDir()
	c := writeScoringCase(t, dir)
	bad := filepath.Join(dir, "bad.safetensors")
	if err := os.WriteFile(bad, []byte("not weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(in *Inputs){
		"bad head":     func(in *Inputs) { in.Head = bad },
		"bad backbone": func(in *Inputs) { in.Backbone = bad },
		"bad size":     func(in *Inputs) { in.Size = 100 },
	} {
		in := c.in
		edit(&in)
		s := startSession(t, in)
		p := s.Wait()
		if p.Err == nil || p.Stage != "error" || p.Busy {
			t.Errorf("%s: progress %+v, want an error", name, p)
		}
		if qs, _ := s.Results(); len(qs) != 0 {
			t.Errorf("%s: %d results", name, len(qs))
		}
	}
	s := startSession(t, c.in)
	if err := s.SetMask(0, imaging.NewMask(3, 3)); err == nil {
		t.Error("a 3×3 mask for a 128×128 reference was accepted")
	}
	if err := s.SetMask(1, imaging.NewMask(128, 128)); err == nil {
		t.Error("a mask for a second abnormal reference that does not exist was accepted")
	}
	// An empty mask is allowed: the head falls back and warns.
	if err := s.SetMask(0, imaging.NewMask(128, 128)); err != nil {
		t.Fatal(err)
	}
	if p := s.Wait(); p.Err != nil || len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "covers no patch") {
		t.Errorf("empty mask: %+v", p)
	}
}

// TestSessionFeaturesFiles scores features files (as written by `ideal features`)
// without a backbone and compares with the direct head.
func TestSessionFeaturesFiles(t *testing.T) {
	dir := t.TempDir()
	c := writeScoringCase(t, dir)
	want := direct(t, c.in, c.in.Abnormal[0].Mask)
	s := startSession(t, c.in)
	s.Wait()
	// Write every input's features as features files, then score those.
	in := c.in
	in.Backbone = ""
	conv := func(p string) string {
		out := strings.TrimSuffix(p, ".png") + ".safetensors"
		md := map[string]string{"format": "ideal-features", "size": strconv.Itoa(tinySize)}
		f, err := s.det.Features(context.Background(), ideal.File(p))
		if err != nil {
			t.Fatal(err)
		}
		if err := weights.WriteSafetensors(out, map[string]*tensor.Dense{"features": f.Patches}, md); err != nil {
			t.Fatal(err)
		}
		return out
	}
	in.Normal = []string{conv(c.in.Normal[0]), conv(c.in.Normal[1])}
	in.Abnormal = []Ref{{Path: conv(c.in.Abnormal[0].Path), Mask: c.in.Abnormal[0].Mask}}
	in.Queries = []string{conv(c.in.Queries[0]), conv(c.in.Queries[1])}
	f := startSession(t, in)
	if p := f.Wait(); p.Err != nil {
		t.Fatal(p.Err)
	}
	got, _ := f.Results()
	sameResults(t, "features files", got, want)
	if got[0].Image != nil {
		t.Error("a features query has an image")
	}
	if f.featureRuns != 0 {
		t.Errorf("features files ran the backbone %d times", f.featureRuns)
	}
}

func TestQueryNames(t *testing.T) {
	got := queryNames([]string{"d/test/crack/000.png", "d/test/good/000.png", "d/test/good/001.png", "x.safetensors"})
	want := []string{"crack/000", "good/000", "good/001", "x"} // all with their folder once two clash
	if !slices.Equal(got, want) {
		t.Errorf("names %q, want %q", got, want)
	}
	got = queryNames([]string{"d/a/000.png", "d/b/001.png"})
	if want := []string{"000", "001"}; !slices.Equal(got, want) {
		t.Errorf("names %q, want %q", got, want)
	}
}

// TestSessionFeatureCache: with Inputs.Cache (the feature cache `ideal eval` keeps and
// names in view.json) a second session takes every image's features from the cache and
// runs no backbone pass, with the same results bit for bit; a damaged entry is computed
// again.
func TestSessionFeatureCache(t *testing.T) {
	dir := t.TempDir()
	c := writeScoringCase(t, dir)
	c.in.Cache = filepath.Join(dir, "cache")
	first := startSession(t, c.in)
	if p := first.Wait(); p.Err != nil {
		t.Fatal(p.Err)
	}
	// good.png is normal1.png byte for byte: the cache knows it by then.
	if first.featureRuns != 4 || first.cacheHits != 1 {
		t.Fatalf("first session: %d backbone runs, %d cache hits; want 4, 1", first.featureRuns, first.cacheHits)
	}
	entries, _ := filepath.Glob(filepath.Join(c.in.Cache, "*", "*.safetensors"))
	if len(entries) != 4 {
		t.Fatalf("%d cache entries, want 4", len(entries))
	}
	want, _ := first.Results()
	second := startSession(t, c.in)
	if p := second.Wait(); p.Err != nil {
		t.Fatal(p.Err)
	}
	if second.featureRuns != 0 || second.cacheHits != 5 {
		t.Errorf("second session: %d backbone runs, %d cache hits; want 0, 5", second.featureRuns, second.cacheHits)
	}
	got, _ := second.Results()
	for i := range want {
		if !slices.Equal(got[i].Maps[MapA], want[i].Maps[MapA]) || got[i].ImageScore != want[i].ImageScore {
			t.Errorf("query %s: results from cached features differ", want[i].Name)
		}
	}
	if err := os.WriteFile(entries[0], []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	third := startSession(t, c.in)
	if p := third.Wait(); p.Err != nil {
		t.Fatal(p.Err)
	}
	if third.featureRuns != 1 || third.cacheHits != 4 {
		t.Errorf("with a damaged entry: %d backbone runs, %d cache hits; want 1, 4", third.featureRuns, third.cacheHits)
	}
}

// TestSessionStaleEdits: edits made while a pass runs cancel it (the pass's context);
// once the work is done the results are those of the last mask.
func TestSessionStaleEdits(t *testing.T) {
	dir := t.TempDir()
	c := writeScoringCase(t, dir)
	s := startSession(t, c.in)
	square := func(x, y, side int) *imaging.Mask {
		m := imaging.NewMask(128, 128)
		for yy := y; yy < y+side; yy++ {
			for xx := x; xx < x+side; xx++ {
				m.Pix[yy*128+xx] = true
			}
		}
		return m
	}
	for i := range 4 {
		if err := s.SetMask(0, square(8*i, 8*i, 20)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetMask(0, square(72, 24, 32)); err != nil {
		t.Fatal(err)
	}
	if p := s.Wait(); p.Err != nil || p.Stage != "done" || p.Done != 2 || p.Busy {
		t.Fatalf("after the edits: %+v", p)
	}
	saved, err := s.SaveMask(0)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.Results()
	sameResults(t, "last edit", got, direct(t, c.in, saved))
}
