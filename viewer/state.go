package viewer

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/internal/atomicfile"
)

// Colours of the contours drawn over the view.
var (
	ThresholdColour   = [3]uint8{255, 255, 255} // map ≥ threshold
	GroundTruthColour = [3]uint8{0, 255, 0}     // the ground-truth mask
	Background        = [3]uint8{32, 32, 32}    // outside the query
)

// State is everything the inspector can change; the window only forwards input to it.
type State struct {
	Queries   []*Query // worst (highest image score) first
	Index     int      // the query shown
	Colormap  imaging.Colormap
	Opacity   float64 // of the heat map over the image, in [0, 1]
	Map       MapKind
	Threshold float32 // on the raw values of the map shown (see VerdictThreshold)
	View              // of the current query

	lo, hi         [numMapKinds]float32              // range of each map over all queries
	full           map[*Query][numMapKinds][]float32 // maps upsampled to the query's size
	thresholdMoved bool                              // by AdjustThreshold
}

// ThresholdStep is how much one +/- press moves the threshold, as a share of the map's range.
const ThresholdStep = 0.05

// New sorts the queries worst first and starts on the first with inferno at opacity
// 0.5, map A, and the threshold halfway through A's range.
func New(qs []*Query) (*State, error) {
	if len(qs) == 0 {
		return nil, fmt.Errorf("viewer: no queries")
	}
	cm, err := imaging.LookupColormap("inferno")
	if err != nil {
		return nil, err
	}
	s := &State{Colormap: cm, Opacity: 0.5, View: View{Zoom: 1}}
	s.SetQueries(qs)
	return s, nil
}

// SetQueries replaces the queries (as scoring delivers them, or after a re-score):
// they are sorted worst first and the colour ranges recomputed; the query shown stays
// the one with the same path when there is one. Until the threshold is moved
// (AdjustThreshold) it sits halfway through the map's range; once moved it keeps its
// value. qs must not be empty.
func (s *State) SetQueries(qs []*Query) {
	if len(qs) == 0 {
		panic("viewer: SetQueries with no queries")
	}
	var cur string
	if s.Index < len(s.Queries) {
		cur = s.Queries[s.Index].Path
	}
	s.Queries = slices.Clone(qs)
	slices.SortStableFunc(s.Queries, func(a, b *Query) int { return cmp.Compare(b.ImageScore, a.ImageScore) })
	s.Index = max(0, slices.IndexFunc(s.Queries, func(q *Query) bool { return q.Path == cur }))
	s.full = map[*Query][numMapKinds][]float32{}
	for k := range numMapKinds {
		s.lo[k], s.hi[k] = float32(math.Inf(1)), float32(math.Inf(-1))
		for _, q := range s.Queries {
			for _, v := range q.Maps[k] {
				s.lo[k], s.hi[k] = min(s.lo[k], v), max(s.hi[k], v)
			}
		}
	}
	if !s.thresholdMoved {
		s.Threshold = (s.lo[s.Map] + s.hi[s.Map]) / 2
	}
}

// Current is the query shown.
func (s *State) Current() *Query { return s.Queries[s.Index] }

// Next, Prev, First and Last move through the sorted queries (arrows, Home, End).
func (s *State) Next()  { s.Index = min(s.Index+1, len(s.Queries)-1) }
func (s *State) Prev()  { s.Index = max(s.Index-1, 0) }
func (s *State) First() { s.Index = 0 }
func (s *State) Last()  { s.Index = len(s.Queries) - 1 }

// CycleColormap switches inferno → jet → grey → inferno.
func (s *State) CycleColormap() {
	i := slices.Index(imaging.ColormapNames, s.Colormap.Name())
	cm, err := imaging.LookupColormap(imaging.ColormapNames[(i+1)%len(imaging.ColormapNames)])
	if err != nil {
		panic(err) // ColormapNames lists only known names
	}
	s.Colormap = cm
}

// CycleMap switches A → s_n → s_a → A; the threshold keeps its place in the map's range.
func (s *State) CycleMap() {
	t := s.relThreshold()
	s.Map = (s.Map + 1) % numMapKinds
	s.Threshold = s.lo[s.Map] + t*(s.hi[s.Map]-s.lo[s.Map])
}

func (s *State) relThreshold() float32 {
	if r := s.hi[s.Map] - s.lo[s.Map]; r > 0 {
		return (s.Threshold - s.lo[s.Map]) / r
	}
	return 0.5
}

// AdjustThreshold moves the threshold by steps×ThresholdStep of the map's range.
func (s *State) AdjustThreshold(steps int) {
	s.thresholdMoved = true
	s.Threshold += float32(steps) * ThresholdStep * (s.hi[s.Map] - s.lo[s.Map])
}

// AdjustOpacity changes the opacity by d, kept in [0, 1].
func (s *State) AdjustOpacity(d float64) { s.Opacity = min(max(s.Opacity+d, 0), 1) }

// Fit sets zoom and pan so the current query fills a w×h screen, centred.
func (s *State) Fit(w, h int) {
	qw, qh := s.Current().Size()
	s.FitImage(qw, qh, w, h)
}

// VerdictThreshold is the threshold carried over to A's range (at the same share of
// it): image scores are on A's scale, whichever map is shown.
func (s *State) VerdictThreshold() float32 {
	if s.Map == MapA {
		return s.Threshold
	}
	return s.lo[MapA] + s.relThreshold()*(s.hi[MapA]-s.lo[MapA])
}

// Fails says whether a query's image score reaches VerdictThreshold (verdict "anomalous").
func (s *State) Fails(q *Query) bool { return q.ImageScore >= s.VerdictThreshold() }

// StripEntry is one query of the strip: its place in the sorted list and its verdict.
type StripEntry struct {
	Index   int
	Query   *Query
	Fails   bool
	Current bool
}

// Strip returns up to n queries of the sorted list around the current one (the
// current as near the middle as the list's ends allow).
func (s *State) Strip(n int) []StripEntry {
	n = min(n, len(s.Queries))
	lo := min(max(s.Index-n/2, 0), len(s.Queries)-n)
	out := make([]StripEntry, 0, max(n, 0))
	for i := lo; i < lo+n; i++ {
		q := s.Queries[i]
		out = append(out, StripEntry{Index: i, Query: q, Fails: s.Fails(q), Current: i == s.Index})
	}
	return out
}

// fullMaps returns q's maps bilinearly upsampled to its displayed size, cached.
func (s *State) fullMaps(q *Query) [numMapKinds][]float32 {
	if f, ok := s.full[q]; ok {
		return f
	}
	w, h := q.Size()
	var f [numMapKinds][]float32
	for k := range numMapKinds {
		f[k] = imaging.UpsampleBilinear(q.Maps[k], q.Grid, q.Grid, h, w)
	}
	s.full[q] = f
	return f
}

// Contour marks the boundary of {i : m[i] ≥ t} in a w×h map: pixels at or above t with
// a 4-neighbour below t or on the image's edge.
func Contour(m []float32, w, h int, t float32) []bool {
	in := func(x, y int) bool { return x >= 0 && y >= 0 && x < w && y < h && m[y*w+x] >= t }
	return boundary(in, w, h)
}

// MaskContour marks the boundary pixels of a mask's defect region, as Contour does.
func MaskContour(mk *imaging.Mask) []bool {
	in := func(x, y int) bool { return x >= 0 && y >= 0 && x < mk.W && y < mk.H && mk.Pix[y*mk.W+x] }
	return boundary(in, mk.W, mk.H)
}

func boundary(in func(x, y int) bool, w, h int) []bool {
	out := make([]bool, w*h)
	for y := range h {
		for x := range w {
			out[y*w+x] = in(x, y) && !(in(x-1, y) && in(x+1, y) && in(x, y-1) && in(x, y+1))
		}
	}
	return out
}

// Composite is the current query at its own size: the image (black without one) with
// the chosen map coloured over it at the opacity (colours span the map's range over all
// queries), the threshold contour in ThresholdColour and the ground-truth contour in
// GroundTruthColour on top.
func (s *State) Composite() *image.RGBA {
	q := s.Current()
	w, h := q.Size()
	m := s.fullMaps(q)[s.Map]
	lo, r := s.lo[s.Map], s.hi[s.Map]-s.lo[s.Map]
	if r <= 0 {
		r = 1
	}
	th := Contour(m, w, h, s.Threshold)
	var gt []bool
	if q.Mask != nil {
		gt = MaskContour(q.Mask)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, v := range m {
		var c [3]uint8
		switch {
		case gt != nil && gt[i]:
			c = GroundTruthColour
		case th[i]:
			c = ThresholdColour
		default:
			hc := s.Colormap.At((v - lo) / r)
			for j := range 3 {
				var base float64
				if q.Image != nil {
					base = float64(q.Image.Pix[3*i+j])
				}
				c[j] = uint8(math.Round((1-s.Opacity)*base + s.Opacity*float64(hc[j])))
			}
		}
		copy(img.Pix[4*i:], c[:])
		img.Pix[4*i+3] = 255
	}
	return img
}

// Render draws the composite into a w×h screen with the zoom and pan (nearest
// neighbour), Background elsewhere.
func (s *State) Render(w, h int) *image.RGBA {
	src := s.Composite()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	s.blit(out.Pix, w, h, src.Pix, src.Rect.Dx(), src.Rect.Dy())
	return out
}

// Patch is what hovering shows: the patch under the pointer and its three scores.
type Patch struct {
	Row, Col  int
	A, SN, SA float32
}

// PatchAt returns the patch under screen point (x, y); ok is false off the image.
func (s *State) PatchAt(x, y float64) (p Patch, ok bool) {
	q := s.Current()
	w, h := q.Size()
	ix, iy := (x-s.PanX)/s.Zoom, (y-s.PanY)/s.Zoom
	if ix < 0 || iy < 0 || ix >= float64(w) || iy >= float64(h) {
		return Patch{}, false
	}
	p.Col = min(int(ix*float64(q.Grid)/float64(w)), q.Grid-1)
	p.Row = min(int(iy*float64(q.Grid)/float64(h)), q.Grid-1)
	i := p.Row*q.Grid + p.Col
	p.A, p.SN, p.SA = q.Maps[MapA][i], q.Maps[MapSN][i], q.Maps[MapSA][i]
	return p, true
}

// WriteCSV writes the verdicts, worst first: path, image score, verdict
// ("anomalous" when the score reaches VerdictThreshold, else "normal") and that threshold.
func (s *State) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"path", "image_score", "verdict", "threshold"}); err != nil {
		return err
	}
	t := strconv.FormatFloat(float64(s.VerdictThreshold()), 'g', -1, 32)
	for _, q := range s.Queries {
		v := "normal"
		if s.Fails(q) {
			v = "anomalous"
		}
		if err := cw.Write([]string{q.Path, strconv.FormatFloat(float64(q.ImageScore), 'g', -1, 32), v, t}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ExportCSV writes the verdicts to path atomically.
func (s *State) ExportCSV(path string) error {
	if err := atomicfile.Write(path, s.WriteCSV); err != nil {
		return fmt.Errorf("viewer: %w", err)
	}
	return nil
}

// ExportPNG writes the current query's composite (its own size, no zoom) to path atomically.
func (s *State) ExportPNG(path string) error {
	img := s.Composite()
	if err := atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
		return fmt.Errorf("viewer: %w", err)
	}
	return nil
}
