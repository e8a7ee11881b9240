package viewer

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/results"
)

func px(img *image.RGBA, x, y int) [3]uint8 {
	o := img.PixOffset(x, y)
	return [3]uint8(img.Pix[o : o+3])
}

// TestInspectorClasses: two episodes of fixed results; switching wraps around, keeps
// each class's own queries and carries the colour map, opacity and map choice.
func TestInspectorClasses(t *testing.T) {
	eps := []*Episode{
		{Class: "bottle", Queries: []*Query{query("b1", 0.3, 2, []float32{0, 0.1, 0.2, 0.3})}},
		{Class: "cable", Queries: []*Query{query("c1", 0.9, 2, []float32{0.9, 0, 0, 0}), query("c2", 0.1, 2, []float32{0.1, 0, 0, 0})}},
	}
	in := NewInspector(eps)
	in.Resize(200, 100)
	if in.ShowPanel {
		t.Error("panel shown without references")
	}
	if w, h := in.ViewSize(); w != 200 || h != 100 {
		t.Errorf("view %d×%d, want the whole window", w, h)
	}
	st := in.State()
	if st == nil || st.Current().Name != "b1" || st.Zoom != 100.0/32 {
		t.Fatalf("first class state %+v", st)
	}
	st.CycleColormap()
	st.AdjustOpacity(0.3)
	st.CycleMap()
	in.NextClass(1)
	if in.Cur != 1 || in.Episode().Class != "cable" || len(in.State().Queries) != 2 {
		t.Fatalf("after next: class %d %q", in.Cur, in.Episode().Class)
	}
	if s2 := in.State(); s2.Colormap.Name() != "jet" || s2.Opacity != 0.8 || s2.Map != MapSN {
		t.Errorf("settings not carried: %s %v %v", s2.Colormap.Name(), s2.Opacity, s2.Map)
	}
	in.NextClass(1)
	if in.Cur != 0 || in.State() != st {
		t.Errorf("next from the last class: %d", in.Cur)
	}
	in.NextClass(-1)
	if in.Cur != 1 {
		t.Errorf("previous from the first class: %d", in.Cur)
	}
	if in.Poll() {
		t.Error("Poll reported a change with nothing new")
	}
	if err := in.StartEdit(-1); err == nil {
		t.Error("editing without references")
	}
	if in.Click(199, 10) {
		t.Error("a click went to a hidden panel")
	}
}

// TestInspectorProgressBar: while the session is busy the bar along the top of the
// view is filled to Done/Total; the view is Background before any result.
func TestInspectorProgressBar(t *testing.T) {
	c := writeScoringCase(t, t.TempDir())
	s, err := Open(c.in)
	if err != nil {
		t.Fatal(err)
	}
	s.progress = Progress{Busy: true, Stage: "scoring", Done: 1, Total: 4}
	in := NewInspector([]*Episode{{Session: s}})
	in.Resize(500, 300) // panel 100 wide: the view is 400
	if !in.ShowPanel || !in.Busy() || in.State() != nil {
		t.Fatalf("panel %v busy %v state %v", in.ShowPanel, in.Busy(), in.State())
	}
	img := in.Render(0, 0)
	for _, c := range []struct {
		x, y int
		want [3]uint8
	}{{0, 0, ProgressColour}, {99, 3, ProgressColour}, {100, 0, PanelBackground}, {399, 0, PanelBackground}, {50, ProgressHeight, Background}, {300, 200, Background}, {450, 1, PanelBackground}} {
		if got := px(img, c.x, c.y); got != c.want {
			t.Errorf("(%d,%d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
	s.progress = Progress{Stage: "done"}
	img = in.Render(0, 0)
	if got := px(img, 0, 0); got != Background {
		t.Errorf("bar drawn when idle: %v", got)
	}
}

// TestInspectorEditRescore: click the abnormal thumbnail, paint through the editor,
// release: the session re-scores and Poll takes the new maps; undo re-scores back to
// the first results; w saves NAME_edited.png.
func TestInspectorEditRescore(t *testing.T) {
	dir := t.TempDir()
	c := writeScoringCase(t, dir)
	s := startSession(t, c.in)
	in := NewInspector([]*Episode{{Session: s}})
	in.Resize(600, 400) // panel 120 wide at x 480; view 480×400
	s.Wait()
	if !in.Poll() || in.State() == nil || len(in.State().Queries) != 2 {
		t.Fatal("Poll did not take the first results")
	}
	first := in.State().Current().ImageScore
	p := in.Panel()
	if len(p.Thumbs) != 3 {
		t.Fatalf("%d thumbnails, want 3", len(p.Thumbs))
	}
	// A click on a normal reference does not edit; on the abnormal one it does.
	if !in.Click(p.Thumbs[0].Min.X+1, p.Thumbs[0].Min.Y+1) || in.Editor != nil || !strings.Contains(in.Msg, "only an abnormal") {
		t.Errorf("click on a normal reference: editor %v, msg %q", in.Editor, in.Msg)
	}
	if in.Click(10, 10) {
		t.Error("a click in the view went to the panel")
	}
	if !in.Click(p.Thumbs[2].Min.X+1, p.Thumbs[2].Min.Y+1) || in.Editor == nil || in.EditRef != 2 {
		t.Fatalf("click on the abnormal reference: editor %v, msg %q", in.Editor, in.Msg)
	}
	e := in.Editor
	if e.Zoom != 400.0/128 || e.PanX != (480-400)/2 {
		t.Errorf("editor not fitted to the view: %+v", e.View)
	}
	// The edit view shows the reference with its mask; the thumbnail is framed.
	img := in.Render(-100, -100)
	if got := px(img, int(e.PanX+e.Zoom*30), int(e.Zoom*90)); got[0] < got[1]+50 {
		t.Errorf("mask pixel not tinted red: %v", got)
	}
	if got := px(img, p.Thumbs[2].Min.X-1, p.Thumbs[2].Min.Y+5); got != SelectedColour {
		t.Errorf("edited thumbnail not framed: %v", got)
	}
	// Paint a square over the query's defect region (72..103, 24..55).
	e.Brush = 4
	for iy := 26.0; iy < 56; iy += 4 {
		e.Begin(e.PanX+e.Zoom*74, e.PanY+e.Zoom*iy, false)
		e.MoveTo(e.PanX+e.Zoom*102, e.PanY+e.Zoom*iy)
		in.StrokeEnd()
	}
	if !s.Progress().Busy && s.Progress().Pass < 2 {
		t.Error("strokes did not start a re-score")
	}
	if got := in.References()[2].Mask; got != e.Mask {
		t.Error("the panel does not show the mask being edited")
	}
	s.Wait()
	if !in.Poll() {
		t.Fatal("Poll missed the re-scored results")
	}
	var bad *Query
	for _, q := range in.State().Queries {
		if q.Name == "bad" {
			bad = q
		}
	}
	if bad.ImageScore == first && in.State().Current().ImageScore == first {
		t.Error("re-scoring changed no score")
	}
	for e.CanUndo() {
		in.Undo()
	}
	s.Wait()
	in.Poll()
	if got := in.State().Queries[0].ImageScore; got != first {
		t.Errorf("after undoing every stroke the worst score is %v, want the first %v", got, first)
	}
	// Clicking the thumbnail being edited keeps the editor and its history.
	if !in.Click(p.Thumbs[2].Min.X+1, p.Thumbs[2].Min.Y+1) || in.Editor != e {
		t.Error("clicking the edited reference again replaced the editor")
	}
	if in.References()[2].Edited {
		t.Error("the mask is back as read but the reference is marked edited")
	}
	in.Undo()
	if in.Msg != "nothing to undo" {
		t.Errorf("msg %q", in.Msg)
	}
	in.SaveMask()
	if want := "saved " + filepath.Join(dir, "abnormal_mask_edited.png"); in.Msg != want {
		t.Errorf("msg %q, want %q", in.Msg, want)
	}
	in.LeaveEdit()
	if in.Editor != nil {
		t.Error("still editing")
	}
	in.TogglePanel()
	if w, _ := in.ViewSize(); in.ShowPanel || w != 600 {
		t.Errorf("panel toggled off: shown %v, view %d wide", in.ShowPanel, w)
	}
}

// writeResultsFolder writes a results folder for the scoring case as `ideal eval --out`
// would: two classes with the same references and queries (maps from a session), the
// "bad" query with its ground truth.
func writeResultsFolder(t *testing.T, dir string, c *scoringCase, headPath string) {
	t.Helper()
	if err := mkdir(dir); err != nil {
		t.Fatal(err)
	}
	s := startSession(t, c.in)
	s.Wait()
	qs, _ := s.Results()
	gt := image.NewGray(image.Rect(0, 0, 128, 128))
	for y := c.defect.Min.Y; y < c.defect.Max.Y; y++ {
		for x := c.defect.Min.X; x < c.defect.Max.X; x++ {
			gt.Pix[y*128+x] = 255
		}
	}
	gtPath := filepath.Join(dir, "bad_mask.png")
	if err := imaging.WritePNG(gtPath, gt); err != nil {
		t.Fatal(err)
	}
	m := &results.Manifest{Tool: "ideal eval", Backbone: c.in.Backbone, Head: headPath, Size: c.in.Size}
	for _, class := range []string{"pcb", "wood"} {
		e := results.Episode{Class: class, Normal: c.in.Normal, Abnormal: []results.Reference{{Path: c.in.Abnormal[0].Path, Mask: c.in.Abnormal[0].Mask}}}
		for i, q := range qs {
			mp := filepath.Join(dir, fmt.Sprintf("%s_%d%s", class, i, results.MapsExt))
			if err := results.WriteMaps(mp, q.Grid, q.Maps[MapA], q.Maps[MapSN], q.Maps[MapSA]); err != nil {
				t.Fatal(err)
			}
			rq := results.Query{Path: q.Path, Label: i, ImageScore: q.ImageScore, Grid: q.Grid, Maps: mp}
			if q.Name == "bad" {
				rq.Mask = gtPath
			}
			e.Queries = append(e.Queries, rq)
		}
		m.Episodes = append(m.Episodes, e)
	}
	if err := results.Write(dir, m); err != nil {
		t.Fatal(err)
	}
}

// TestOpenResults: a results folder opens with its classes, maps, references and
// ground truth; editing computes the features then (not before) and re-scores.
func TestOpenResults(t *testing.T) {
	dir := t.TempDir()
	c := writeScoringCase(t, dir)
	out := filepath.Join(dir, "out")
	writeResultsFolder(t, out, c, c.in.Head)
	eps, err := OpenDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(eps) != 2 || eps[0].Class != "pcb" || eps[1].Class != "wood" {
		t.Fatalf("episodes %+v", eps)
	}
	for _, e := range eps {
		t.Cleanup(e.Session.Close)
		e.Session.Start()
	}
	want := direct(t, c.in, c.in.Abnormal[0].Mask)
	got, _ := eps[1].Session.Results()
	sameResults(t, "preloaded", got, want)
	if got[1].Mask == nil || got[1].Mask.Count() != 32*32 || got[0].Mask != nil || got[1].Image == nil {
		t.Error("ground truth or image of the queries not loaded")
	}
	in := NewInspector(eps)
	in.Resize(400, 300)
	if !in.ShowPanel || len(in.References()) != 3 || in.References()[2].Mask.Count() != 32*32 {
		t.Fatal("references of the manifest not shown")
	}
	s := eps[0].Session
	if s.featureRuns != 0 || s.Progress().Busy {
		t.Fatal("opening a results folder computed something")
	}
	if err := in.StartEdit(-1); err != nil {
		t.Fatal(err)
	}
	in.Editor.Begin(in.Editor.PanX+in.Editor.Zoom*80, in.Editor.PanY+in.Editor.Zoom*30, false)
	in.StrokeEnd()
	if p := s.Wait(); p.Err != nil || p.Pass != 1 {
		t.Fatalf("re-score: %+v", p)
	}
	if s.featureRuns != 4 {
		t.Errorf("%d backbone runs on the first edit, want 4 (every image once: good.png is normal1.png byte for byte)", s.featureRuns)
	}
	in.Poll()
	if _, v := eps[1].Session.Results(); v != 1 {
		t.Error("editing one class re-scored the other")
	}
	// A second class's edit reuses the detector (weights and features) of the first.
	in.NextClass(1)
	if err := in.StartEdit(-1); err != nil {
		t.Fatal(err)
	}
	in.Editor.Begin(in.Editor.PanX+in.Editor.Zoom*80, in.Editor.PanY+in.Editor.Zoom*30, false)
	in.StrokeEnd()
	s1 := eps[1].Session
	if p := s1.Wait(); p.Err != nil || p.Pass != 1 {
		t.Fatalf("re-score of the second class: %+v", p)
	}
	if s1.det != s.det || s1.featureRuns != 0 {
		t.Errorf("the classes did not share one detector (%d backbone runs for the second)", s1.featureRuns)
	}

	// Without the head the folder opens read-only.
	ro := filepath.Join(dir, "ro")
	writeResultsFolder(t, ro, c, filepath.Join(dir, "gone.safetensors"))
	eps, err = OpenResults(filepath.Join(ro, results.FileName))
	if err != nil {
		t.Fatal(err)
	}
	in = NewInspector(eps)
	if err := in.StartEdit(-1); err == nil || !strings.Contains(err.Error(), "gone.safetensors") {
		t.Errorf("editing without the head: %v", err)
	}
	if in.State() == nil || len(in.State().Queries) != 2 {
		t.Error("read-only results not shown")
	}
	// The old `ideal score --json` files still open.
	old := filepath.Join(dir, "old")
	if err := mkdir(old); err != nil {
		t.Fatal(err)
	}
	writeWindowCase(t, old)
	if eps, err := OpenDir(old); err != nil || len(eps) != 1 || eps[0].Session != nil || len(eps[0].Queries) != 2 {
		t.Errorf("old JSON: %v, %v", eps, err)
	}
	if _, err := OpenDir(filepath.Join(dir, "nope")); err == nil {
		t.Error("a missing folder opened")
	}
}

func mkdir(p string) error { return os.Mkdir(p, 0o755) }
