package viewer

import (
	"errors"
	"fmt"
	"image"
	stddraw "image/draw"
)

// Episode is one set of references with its queries: a class of an `ideal eval`
// results folder, or the whole of a scoring run.
type Episode struct {
	Class   string
	Session *Session // scores and re-scores; nil for results without references (old JSON)
	Queries []*Query // the results when there is no session

	state   *State
	version int // of the session's results in state
}

// Inspector is what the window shows and what its input does: the episodes (one per
// class), the current one's view state, the reference panel and the mask editor. The
// window forwards input to it and draws Render; none of its methods blocks on scoring.
type Inspector struct {
	Episodes  []*Episode
	Cur       int     // the episode shown
	ShowPanel bool    // the reference panel
	Editor    *Editor // non-nil while editing an abnormal reference's mask
	EditRef   int     // the panel index of the reference being edited
	Msg       string  // the last action's outcome, for the status line

	w, h int
	// Settings carried from class to class.
	colormap string
	opacity  float64
	mapKind  MapKind
}

// ProgressColour and ProgressHeight draw the bar along the top of the view while
// scoring runs.
var ProgressColour = [3]uint8{80, 160, 255}

const ProgressHeight = 4

// NewInspector shows the first episode; the panel is on when it has references.
func NewInspector(eps []*Episode) *Inspector {
	if len(eps) == 0 {
		panic("viewer: NewInspector with no episodes")
	}
	in := &Inspector{Episodes: eps, w: 1, h: 1}
	in.ShowPanel = len(in.References()) > 0
	in.Poll()
	return in
}

// Resize sets the window's size.
func (in *Inspector) Resize(w, h int) {
	in.w, in.h = w, h
	in.fit()
}

// Episode is the episode shown.
func (in *Inspector) Episode() *Episode { return in.Episodes[in.Cur] }

// State is the shown episode's view state; nil until its first query is scored.
func (in *Inspector) State() *State { return in.Episode().state }

// Progress is the shown episode's scoring progress (zero for fixed results).
func (in *Inspector) Progress() Progress {
	if s := in.Episode().Session; s != nil {
		return s.Progress()
	}
	return Progress{Stage: "done"}
}

// Busy reports whether any episode's session is scoring.
func (in *Inspector) Busy() bool {
	for _, e := range in.Episodes {
		if e.Session != nil && e.Session.Progress().Busy {
			return true
		}
	}
	return false
}

// References are the shown episode's references (the edited mask while editing).
func (in *Inspector) References() []Reference {
	s := in.Episode().Session
	if s == nil {
		return nil
	}
	refs := s.References()
	if in.Editor != nil {
		refs[in.EditRef].Mask = in.Editor.Mask
	}
	return refs
}

// ViewSize is the size of the area left of the panel.
func (in *Inspector) ViewSize() (w, h int) {
	if in.ShowPanel {
		return max(in.w-PanelWidth(in.w), 1), in.h
	}
	return in.w, in.h
}

// Panel is the reference panel's layout.
func (in *Inspector) Panel() Panel { return LayoutPanel(len(in.References()), in.w, in.h) }

// Poll takes the results that arrived since the last call into the view state; it
// reports whether the shown episode's changed.
func (in *Inspector) Poll() bool {
	changed := false
	for i, e := range in.Episodes {
		var qs []*Query
		v := 0
		if e.Session != nil {
			qs, v = e.Session.Results()
		} else {
			qs, v = e.Queries, 1
		}
		if v == e.version || len(qs) == 0 {
			continue
		}
		e.version = v
		if e.state == nil {
			st, err := New(qs)
			if err != nil {
				panic(err) // qs is not empty
			}
			e.state = st
			if i == in.Cur {
				in.carrySettings()
				in.fit()
			}
		} else {
			e.state.SetQueries(qs)
		}
		changed = changed || i == in.Cur
	}
	return changed
}

// carrySettings gives the shown state the colour map, opacity and map of the last one.
func (in *Inspector) carrySettings() {
	st := in.State()
	if st == nil || in.colormap == "" {
		return
	}
	for st.Colormap.Name() != in.colormap {
		st.CycleColormap()
	}
	st.Opacity = in.opacity
	for st.Map != in.mapKind {
		st.CycleMap()
	}
}

func (in *Inspector) fit() {
	w, h := in.ViewSize()
	if st := in.State(); st != nil {
		st.Fit(w, h)
	}
	if in.Editor != nil {
		in.Editor.Fit(w, h)
	}
}

// NextClass moves d episodes on (wrapping), leaving the editor.
func (in *Inspector) NextClass(d int) {
	if st := in.State(); st != nil {
		in.colormap, in.opacity, in.mapKind = st.Colormap.Name(), st.Opacity, st.Map
	}
	in.LeaveEdit()
	n := len(in.Episodes)
	in.Cur = ((in.Cur+d)%n + n) % n
	in.carrySettings()
	in.ShowPanel = in.ShowPanel || len(in.References()) > 0
	in.fit()
}

// TogglePanel shows or hides the reference panel.
func (in *Inspector) TogglePanel() {
	in.ShowPanel = !in.ShowPanel
	in.fit()
}

// Click handles a left click at screen point (x, y) on the panel: an abnormal
// reference's thumbnail starts editing its mask. It reports whether the panel took
// the click.
func (in *Inspector) Click(x, y int) bool {
	if !in.ShowPanel {
		return false
	}
	p := in.Panel()
	if x < p.X {
		return false
	}
	if i := p.Hit(x, y); i >= 0 {
		if err := in.StartEdit(i); err != nil {
			in.Msg = err.Error()
		}
	}
	return true
}

// StartEdit edits the mask of the reference at panel index i (an abnormal one); -1
// means the first abnormal reference.
func (in *Inspector) StartEdit(i int) error {
	s := in.Episode().Session
	if s == nil {
		return errors.New("viewer: these results name no references to edit")
	}
	if reason := s.ReadOnly(); reason != "" {
		return errors.New(reason)
	}
	refs := s.References()
	if i < 0 {
		for j, r := range refs {
			if r.Abnormal {
				i = j
				break
			}
		}
		if i < 0 {
			return errors.New("viewer: no abnormal reference to edit")
		}
	}
	if i >= len(refs) || !refs[i].Abnormal {
		return errors.New("viewer: only an abnormal reference has a mask to edit")
	}
	if in.Editor != nil && in.EditRef == i {
		return nil // already editing it (keeps the undo history)
	}
	in.Editor = NewEditor(refs[i].Index, refs[i].Image, refs[i].Mask)
	in.EditRef = i
	in.ShowPanel = true
	in.fit()
	in.Msg = fmt.Sprintf("editing the mask of abnormal reference %d", refs[i].Index+1)
	return nil
}

// LeaveEdit leaves the editor (its changes are already applied).
func (in *Inspector) LeaveEdit() {
	in.Editor = nil
	in.fit()
}

// StrokeEnd ends a stroke; a changed mask is applied and every query re-scored.
func (in *Inspector) StrokeEnd() {
	if in.Editor != nil && in.Editor.End() {
		in.apply()
	}
}

// Undo undoes the editor's last stroke and re-scores.
func (in *Inspector) Undo() {
	if in.Editor != nil && in.Editor.Undo() {
		in.apply()
	} else {
		in.Msg = "nothing to undo"
	}
}

func (in *Inspector) apply() {
	if err := in.Episode().Session.SetMask(in.Editor.Ref, in.Editor.Mask); err != nil {
		in.Msg = err.Error()
		return
	}
	in.Msg = "re-scoring with the edited mask"
	if w := in.Editor.Warning(); w != "" {
		in.Msg = w
	}
}

// SaveMask writes the edited mask beside its file (NAME_edited.png).
func (in *Inspector) SaveMask() {
	if in.Editor == nil {
		return
	}
	p, err := in.Episode().Session.SaveMask(in.Editor.Ref)
	if err != nil {
		in.Msg = err.Error()
		return
	}
	in.Msg = "saved " + p
}

// Render draws the window: the query view (or the editor, with the brush around
// screen point (cx, cy)), the progress bar while scoring, and the panel.
func (in *Inspector) Render(cx, cy float64) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, in.w, in.h))
	vw, vh := in.ViewSize()
	var view *image.RGBA
	switch st := in.State(); {
	case in.Editor != nil:
		view = in.Editor.Render(vw, vh, cx, cy, true)
	case st != nil:
		view = st.Render(vw, vh)
	}
	if view != nil {
		stddraw.Draw(out, view.Rect, view, image.Point{}, stddraw.Src)
	} else {
		fill(out, image.Rect(0, 0, vw, vh), Background)
	}
	if p := in.Progress(); p.Busy {
		fill(out, image.Rect(0, 0, vw, ProgressHeight), PanelBackground)
		if p.Total > 0 {
			fill(out, image.Rect(0, 0, vw*p.Done/p.Total, ProgressHeight), ProgressColour)
		}
	}
	if in.ShowPanel {
		p := in.Panel()
		selected := -1
		if in.Editor != nil {
			selected = in.EditRef
		}
		pan := p.Render(in.References(), selected)
		stddraw.Draw(out, image.Rect(p.X, 0, in.w, in.h), pan, image.Point{}, stddraw.Src)
	}
	return out
}
