package ideal

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
)

// Refs are the references of an episode: normal images and abnormal ones with their
// defect masks (spec §1). At least one of either.
type Refs struct {
	Normal   []Input
	Abnormal []Abnormal
}

// Abnormal is an abnormal reference and its defect mask: the mask file MaskPath
// (non-zero pixels are the defect), or Mask in memory (e.g. painted), which wins when
// both are set. The mask has the image's size.
type Abnormal struct {
	Input
	MaskPath string
	Mask     *imaging.Mask
}

// Episode is a prepared set of references (normal patches, NVE and the IDE's deviation
// vectors T*). Score reuses all of it for every query. An Episode is safe for
// concurrent use; it holds backend buffers until Close.
type Episode struct {
	d        *Detector
	mu       sync.Mutex
	ep       *head.Episode
	warnings []string
	side     int
}

// Episode prepares the references. Errors about a reference wrap ErrBadInput and name
// it.
func (d *Detector) Episode(ctx context.Context, refs Refs) (*Episode, error) {
	if len(refs.Normal)+len(refs.Abnormal) == 0 {
		return nil, badInputf("", "an episode needs at least one normal or abnormal reference")
	}
	if len(refs.Abnormal) > 0 && d.hw == nil {
		return nil, badInputf("", "abnormal references need the head's weights (Options.Head)")
	}
	var normals []*Features
	for i, in := range refs.Normal {
		f, err := d.Features(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("normal reference %d: %w", i+1, err)
		}
		normals = append(normals, f)
	}
	var abn []AbnormalFeatures
	var warnings []string
	for i, a := range refs.Abnormal {
		f, err := d.Features(ctx, a.Input)
		if err != nil {
			return nil, fmt.Errorf("abnormal reference %d: %w", i+1, err)
		}
		grid, warn, err := abnormalMask(a, f)
		if err != nil {
			return nil, fmt.Errorf("abnormal reference %d: %w", i+1, err)
		}
		if warn != "" {
			warnings = append(warnings, fmt.Sprintf("abnormal reference %d: %s", i+1, warn))
		}
		abn = append(abn, AbnormalFeatures{Features: f, Mask: grid})
	}
	e, err := d.EpisodeFromFeatures(ctx, normals, abn)
	if err != nil {
		return nil, err
	}
	e.warnings = append(warnings, e.warnings...)
	for _, w := range warnings {
		d.warn(w)
	}
	return e, nil
}

// abnormalMask reads (or takes) an abnormal reference's mask and prepares it for the
// head (PatchMask).
func abnormalMask(a Abnormal, f *Features) (grid []bool, warning string, err error) {
	m, name := a.Mask, "its mask"
	if m == nil {
		if a.MaskPath == "" {
			return nil, "", badInputf(a.String(), "no mask given")
		}
		if m, err = imaging.ReadMask(a.MaskPath); err != nil {
			return nil, "", badInput("", err) // the error names the file
		}
		name = a.MaskPath
	}
	grid, warning, err = PatchMask(m, f)
	if err != nil {
		return nil, "", badInput(name, err)
	}
	return grid, warning, nil
}

// AbnormalFeatures is an abnormal reference's features and its defect patch mask
// (G·G values, true = defect; see PatchMask).
type AbnormalFeatures struct {
	Features *Features
	Mask     []bool
}

// PatchMask prepares an abnormal reference's defect mask for the head (spec §2): it
// checks the mask against the image's size (when known), resizes it to S×S (nearest,
// PyTorch's convention) and maps it onto the patch grid. warning is not empty when the
// mask marks every pixel (an image given as its own mask?).
func PatchMask(m *imaging.Mask, f *Features) (grid []bool, warning string, err error) {
	if f.W > 0 {
		if err := imaging.CheckMaskSize(f.W, f.H, m.W, m.H); err != nil {
			return nil, "", err
		}
	}
	_, grid, err = m.Prepare(f.Side, f.Patch)
	if err != nil {
		return nil, "", err
	}
	if m.Count() == len(m.Pix) {
		warning = "its mask marks every pixel as defect (an image given as the mask?)"
	}
	return grid, warning, nil
}

// EpisodeFromFeatures prepares an episode from features the caller already has (with
// the abnormal references' patch masks).
func (d *Detector) EpisodeFromFeatures(ctx context.Context, normals []*Features, abnormals []AbnormalFeatures) (*Episode, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	var nf []*tensor.Dense
	for _, f := range normals {
		nf = append(nf, f.Patches)
	}
	var abn []head.Abnormal
	for _, a := range abnormals {
		abn = append(abn, head.Abnormal{Features: a.Features.Patches, Mask: a.Mask})
	}
	side := d.size
	if len(normals) > 0 {
		side = normals[0].Side
	} else if len(abnormals) > 0 {
		side = abnormals[0].Features.Side
	}
	d.mu.Lock()
	ep, err := d.model.NewEpisode(nf, abn)
	d.mu.Unlock()
	if err != nil {
		return nil, classify("references", err)
	}
	e := &Episode{d: d, ep: ep, warnings: ep.Warnings(), side: side}
	for _, w := range ep.Warnings() {
		d.warn(w)
	}
	return e, nil
}

// classify wraps a head error: a backend limit stays ErrUnsupported, anything else is
// a bad input.
func classify(what string, err error) error {
	if errors.Is(err, ErrUnsupported) {
		return fmt.Errorf("ideal: %s: %w", what, err)
	}
	return badInput(what, err)
}

// Warnings are what the episode worked around (an empty mask, a mask of every pixel).
func (e *Episode) Warnings() []string { return append([]string(nil), e.warnings...) }

// Head is the prepared head episode (its masks, position code, deviation vectors).
func (e *Episode) Head() *head.Episode { return e.ep }

// Close frees the episode's backend buffers.
func (e *Episode) Close() {
	e.d.mu.Lock()
	defer e.d.mu.Unlock()
	e.ep.Close()
}

// Result is the method's output for one query (spec §7): the image score and the
// G×G maps A (Map), s_n (NormalScore) and s_a (DeviationScore), row-major.
type Result struct {
	head.Result
	Name  string // the query's name (Input.String)
	Side  int    // the input side S the maps were computed at
	W, H  int    // the query image's size in pixels (0 for features)
	Image *imaging.RGB
}

// Score scores one query against the references. Errors about the query wrap
// ErrBadInput.
func (e *Episode) Score(ctx context.Context, q Input) (*Result, error) {
	f, err := e.d.Features(ctx, q)
	if err != nil {
		return nil, err
	}
	r, err := e.ScoreFeatures(ctx, f)
	if err != nil {
		return nil, badInput(q.String(), err)
	}
	r.Name = q.String()
	return r, nil
}

// ScoreFeatures scores a query's features (Detector.Features).
func (e *Episode) ScoreFeatures(ctx context.Context, f *Features) (*Result, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.d.mu.Lock()
	r, err := e.ep.Score(f.Patches)
	e.d.mu.Unlock()
	e.mu.Unlock()
	if err != nil {
		return nil, classify("query", err)
	}
	for _, m := range [][]float32{r.Map, r.NormalScore, r.DeviationScore, {r.ImageScore}} {
		if tensor.NonFinite(m) >= 0 {
			return nil, badInputf("", "its anomaly maps are not finite (NaN or Inf)")
		}
	}
	return &Result{Result: *r, Side: f.Side, W: f.W, H: f.H, Image: f.Image}, nil
}

// Upsample returns the map A resized bilinearly to h×w (PyTorch's bilinear,
// align_corners = false), e.g. for display at the image's size.
func (r *Result) Upsample(h, w int) []float32 {
	return imaging.UpsampleBilinear(r.Map, r.Grid, r.Grid, h, w)
}

// PixelMap is the pixel anomaly map of spec §7 that the metrics use: A up-sampled
// bilinearly to S×S and smoothed by a Gaussian of σ = Sigma (truncate 4σ, reflect).
func (r *Result) PixelMap() []float32 {
	return imaging.GaussianBlur(r.Upsample(r.Side, r.Side), r.Side, r.Side, Sigma)
}

// Anomalous is the verdict at an image-score threshold: ImageScore ≥ threshold.
func (r *Result) Anomalous(threshold float32) bool { return r.ImageScore >= threshold }
