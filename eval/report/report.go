package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/internal/atomicfile"
	"github.com/ideal-fsad/ideal/metrics"
)

// FileName is the report's page in the output folder; its pictures are under
// AssetsDir beside it.
const (
	FileName  = "report.html"
	AssetsDir = "report"
)

// Options configure a Builder.
type Options struct {
	// Threshold, with FixedThreshold, is the image-score threshold of every class's
	// verdicts (a query is anomalous when its score is ≥ it); otherwise each class
	// takes the threshold of its image-level F1max.
	Threshold      float64
	FixedThreshold bool
	// ProLimit is the FPR limit of the PRO curve (0: 0.3).
	ProLimit float64
}

// Query is a scored query as the report shows it.
type Query struct {
	Path, DefectType string
	Anomalous        bool
	Score            float64   // the image score
	W, H             int       // the size of Pixels and Mask
	Pixels           []float32 // the pixel scores the metrics used
	Mask             []bool    // the ground truth at W×H; nil for a normal query
}

// Reference is a reference image of a class (Mask "" for a normal one).
type Reference struct{ Path, Mask string }

// Fact is a line of the report's settings.
type Fact struct{ Name, Value string }

// Summary is what the report's top shows: the settings and the metrics table.
type Summary struct {
	Title   string
	Facts   []Fact
	Classes []metrics.ClassResult
	Mean    metrics.MeanResult
}

// Builder makes the report of a run one class at a time: StartClass, Add for every
// query, EndClass (which writes the class's pictures under DIR/report/), and Write
// (DIR/report.html) as often as wanted. It is not safe for concurrent use.
type Builder struct {
	dir      string
	opts     Options
	sections []*section
	cur      *classState
}

// New returns a Builder of the report in dir.
func New(dir string, opts Options) *Builder {
	if opts.ProLimit == 0 {
		opts.ProLimit = 0.3
	}
	return &Builder{dir: dir, opts: opts}
}

// classState is the class under way.
type classState struct {
	name    string
	refs    []Reference
	queries []*Query // without their maps
	tiles   []*tiles
	scores  []float64
	labels  []bool
	acc     *metrics.PixelAccumulator
	lo, hi  float64
}

// StartClass begins a class with its references.
func (b *Builder) StartClass(class string, refs []Reference) {
	b.cur = &classState{name: class, refs: refs, acc: metrics.NewPixelAccumulator(0), lo: math.Inf(1), hi: math.Inf(-1)}
}

// Add adds a scored query of the class under way.
func (b *Builder) Add(q Query) error {
	c := b.cur
	if c == nil {
		return fmt.Errorf("report: query %s outside a class", q.Path)
	}
	if err := c.acc.Add(q.W, q.H, q.Pixels, q.Mask); err != nil {
		return fmt.Errorf("report: %s: %w", q.Path, err)
	}
	for _, v := range q.Pixels {
		c.lo, c.hi = min(c.lo, float64(v)), max(c.hi, float64(v))
	}
	c.scores, c.labels = append(c.scores, q.Score), append(c.labels, q.Anomalous)
	c.tiles = append(c.tiles, newTiles(&q))
	q.Pixels, q.Mask = nil, nil
	c.queries = append(c.queries, &q)
	return nil
}

// DropClass forgets the class under way (left out of the run).
func (b *Builder) DropClass() { b.cur = nil }

// EndClass computes the class's curves and thresholds and writes its plots, its
// curves (curves.json) and its panels under DIR/report/<class>/.
func (b *Builder) EndClass() error {
	c := b.cur
	b.cur = nil
	if c == nil || len(c.queries) == 0 {
		return nil
	}
	s := &section{Name: c.name, Slug: slug(len(b.sections), c.name)}
	if i := slices.IndexFunc(b.sections, func(o *section) bool { return o.Name == c.name }); i >= 0 {
		s.Slug = b.sections[i].Slug
		b.sections = slices.Delete(b.sections, i, i+1)
	}
	dir := filepath.Join(b.dir, AssetsDir, s.Slug)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	sc, err := b.curves(c, s, dir)
	if err != nil {
		return fmt.Errorf("report: class %s: %w", c.name, err)
	}
	if err := b.panels(c, s, sc, dir); err != nil {
		return fmt.Errorf("report: class %s: %w", c.name, err)
	}
	if err := b.references(c, s, dir); err != nil {
		return fmt.Errorf("report: class %s: %w", c.name, err)
	}
	b.sections = append(b.sections, s)
	return nil
}

// slug is a class's folder under DIR/report: its index and its name's safe letters.
func slug(i int, name string) string {
	safe := strings.Map(func(r rune) rune {
		if r < 128 && (r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, name)
	return fmt.Sprintf("%02d-%s", i, safe)
}

// Curves is what DIR/report/<class>/curves.json holds: the points plotted.
type Curves struct {
	Class          string              `json:"class"`
	Image          metrics.ImageCurves `json:"image"`
	Pixel          metrics.PixelCurves `json:"pixel"`
	Threshold      metrics.Value       `json:"threshold"` // null when there is none
	ThresholdRule  string              `json:"threshold_rule"`
	PixelThreshold metrics.Value       `json:"pixel_threshold"` // null when there is none
	ProLimit       float64             `json:"pro_limit"`
}

// curves computes the class's curves and thresholds and writes its plots.
func (b *Builder) curves(c *classState, s *section, dir string) (scale, error) {
	ic, err := metrics.ImageCurvesOf(c.scores, c.labels)
	if err != nil {
		return scale{}, err
	}
	pr, pc, err := c.acc.ResultCurves(b.opts.ProLimit)
	if err != nil {
		return scale{}, err
	}
	cv := Curves{Class: c.name, Image: ic, Pixel: pc, Threshold: ic.F1MaxThreshold, PixelThreshold: pc.F1MaxThreshold, ProLimit: b.opts.ProLimit,
		ThresholdRule: "F1max of the class's image scores"}
	if b.opts.FixedThreshold {
		cv.Threshold, cv.ThresholdRule = metrics.Value(b.opts.Threshold), "given (--threshold)"
	}
	if !cv.Threshold.Defined() {
		cv.ThresholdRule = "none (F1max undefined): every query is called good"
	}
	s.Threshold, s.Rule, s.PixelThreshold = orInf(cv.Threshold), cv.ThresholdRule, orInf(cv.PixelThreshold)
	s.PixelAUROC = pr.AUROC
	if err := writeJSONFile(filepath.Join(dir, "curves.json"), cv); err != nil {
		return scale{}, err
	}
	if err := b.plots(c, s, cv, dir); err != nil {
		return scale{}, err
	}
	cmap, err := imaging.LookupColormap("inferno")
	return scale{lo: c.lo, hi: c.hi, pixel: s.PixelThreshold, image: s.Threshold, colormap: cmap}, err
}

// orInf is v, or +Inf (nothing reaches it) when v is undefined.
func orInf(v metrics.Value) float64 {
	if !v.Defined() {
		return math.Inf(1)
	}
	return float64(v)
}

// plots writes the class's five plots.
func (b *Builder) plots(c *classState, s *section, cv Curves, dir string) error {
	lim := fmt.Sprintf("%.2g", b.opts.ProLimit)
	for _, p := range []struct {
		file string
		cp   curvePlot
	}{
		{"roc.png", curvePlot{c.name + ": image ROC", "false positive rate", "true positive rate", cv.Image.ROC, 1, true}},
		{"pr.png", curvePlot{c.name + ": image precision-recall", "recall", "precision", cv.Image.PR, 1, false}},
		{"pixel-roc.png", curvePlot{c.name + ": pixel ROC", "false positive rate", "true positive rate", cv.Pixel.ROC, 1, true}},
		{"pro.png", curvePlot{c.name + ": PRO up to FPR " + lim, "false positive rate", "per-region overlap", cv.Pixel.PRO, b.opts.ProLimit, false}},
	} {
		if err := p.cp.write(filepath.Join(dir, p.file)); err != nil {
			return err
		}
		s.Plots = append(s.Plots, asset{File: s.Slug + "/" + p.file, Alt: p.cp.title})
	}
	var good, bad []float64
	for i, v := range c.scores {
		if c.labels[i] {
			bad = append(bad, v)
		} else {
			good = append(good, v)
		}
	}
	title := c.name + ": image scores"
	if err := histPlot(filepath.Join(dir, "scores.png"), title, good, bad, s.Threshold); err != nil {
		return err
	}
	s.Plots = append(s.Plots, asset{File: s.Slug + "/scores.png", Alt: title})
	return nil
}

// rank orders the outcomes worst first.
var rank = map[Outcome]int{FalseNegative: 0, FalsePositive: 1, TruePositive: 2, TrueNegative: 3}

// panels writes the class's query panels, worst first: the missed anomalies (lowest
// score first), the false alarms (highest first), then the right ones from the
// threshold outward.
func (b *Builder) panels(c *classState, s *section, sc scale, dir string) error {
	order := make([]int, len(c.queries))
	for i := range order {
		order[i] = i
	}
	out := func(i int) Outcome { return outcome(c.queries[i].Score, sc.image, c.queries[i].Anomalous) }
	slices.SortStableFunc(order, func(i, j int) int {
		oi, oj := out(i), out(j)
		if r := cmp.Compare(rank[oi], rank[oj]); r != 0 {
			return r
		}
		if oi == FalseNegative || oi == TruePositive {
			return cmp.Compare(c.queries[i].Score, c.queries[j].Score)
		}
		return cmp.Compare(c.queries[j].Score, c.queries[i].Score)
	})
	for k, i := range order {
		q := c.queries[i]
		name := fmt.Sprintf("q%03d.png", k)
		if err := imaging.WritePNG(filepath.Join(dir, name), renderPanel(q, c.tiles[i], sc)); err != nil {
			return err
		}
		o := out(i)
		s.count(o)
		s.Panels = append(s.Panels, panel{asset: asset{File: s.Slug + "/" + name, Alt: q.Path}, Outcome: string(o), Wrong: o == FalseNegative || o == FalsePositive})
	}
	return nil
}

// references writes the class's references: each image, and an abnormal one's mask
// beside it with its contour on the image.
func (b *Builder) references(c *classState, s *section, dir string) error {
	for i, r := range c.refs {
		img, err := referencePicture(r)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("ref%02d.png", i)
		if err := imaging.WritePNG(filepath.Join(dir, name), img); err != nil {
			return err
		}
		kind := "normal reference"
		if r.Mask != "" {
			kind = "abnormal reference and its mask"
		}
		s.Refs = append(s.Refs, asset{File: s.Slug + "/" + name, Alt: kind + ": " + filepath.Base(r.Path)})
	}
	return nil
}

// referencePicture is a reference at the tile size, with its mask beside it.
func referencePicture(r Reference) (*image.RGBA, error) {
	img, err := imaging.LoadRGB(r.Path)
	if err != nil {
		return nil, err
	}
	th := max(1, int(math.Round(float64(tile)*float64(img.H)/float64(img.W))))
	t := &tiles{w: tile, h: th, img: imaging.Resize(img, tile, th)}
	w := tile
	if r.Mask != "" {
		m, err := imaging.ReadMask(r.Mask)
		if err != nil {
			return nil, err
		}
		t.mask = m.ResizeNearest(tile, th).Pix
		paint(t.img, imaging.Contour(t.mask, tile, th, 2), GroundTruthColor)
		w = PanelWidth
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, th))
	fill(dst, dst.Bounds(), background)
	paste(dst, image.Point{}, t.img)
	label(dst, image.Rect(0, 0, tile, th), filepath.Base(r.Path))
	if r.Mask != "" {
		drawGroundTruth(dst, image.Rect(tile+gap, 0, PanelWidth, th), t)
	}
	return dst, nil
}

// writeJSONFile writes v as indented JSON, atomically.
func writeJSONFile(path string, v any) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}
