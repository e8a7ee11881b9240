package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/internal/atomicfile"
	"github.com/ideal-fsad/ideal/internal/cli"
	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/results"
)

func init() {
	register("score", "score query images against normal and abnormal references (IDEAL)", runScore)
}

const scoreUsage = `[--backbone FILE] [--head FILE] --normal X [--normal X ...] [--abnormal X --abnormal-mask PNG ...] QUERY... [--size S] [--out DIR] [--json FILE] [--backend NAME]

Every X and QUERY is an image or a features file written by 'ideal features' (.safetensors
with a tensor "features", N×C). --backbone is needed only when some input is an image.
The i-th --abnormal-mask belongs to the i-th --abnormal. Without --abnormal the score is the
normal-only baseline (s_a = 1 − s_n) and --head is optional; without --normal the normal
patches are the abnormal references' patches outside their masks.
Each query's path and image score are printed on stdout, one line each (the table);
warnings (e.g. an abnormal mask that covers no patch) go to stderr and the JSON.
--json writes the scores and the G×G maps A, s_n and s_a of every query.
--out writes per query NAME_overlay.png (heatmap over the image at its original size; for
a features query, the heatmap alone at S×S) and NAME_map.tiff (the anomaly map A at that
size, float32 TIFF). The overlay colours span the range of A over all queries of the run.
--out also writes DIR/view.json and DIR/maps/NAME.maps.safetensors (the G×G maps A, s_n
and s_a) for the desktop viewer: 'ideal-view DIR' opens the run. A query's ground truth
is recorded there when a mask NAME_mask.png lies beside it.`

// scoreQueryJSON is one query of the --json output.
type scoreQueryJSON struct {
	Path           string      `json:"path"`
	ImageScore     float32     `json:"image_score"`
	Map            [][]float32 `json:"map"`
	NormalScore    [][]float32 `json:"normal_score"`
	DeviationScore [][]float32 `json:"deviation_score"`
}

type scoreJSON struct {
	Warnings []string         `json:"warnings,omitempty"`
	Queries  []scoreQueryJSON `json:"queries"`
}

// scoreFlags are ideal score's flags.
type scoreFlags struct {
	backbone, head, out, json, backend string
	size                               int
	normals, abnormals, masks, queries cli.List
}

func parseScoreFlags(args []string) (*scoreFlags, error) {
	fs := newFlagSet("score", scoreUsage)
	o := &scoreFlags{}
	fs.StringVar(&o.backbone, "backbone", "", "DINOv2 weights (needed when an input is an image)")
	fs.StringVar(&o.head, "head", "", "IDE head weights (safetensors, .pth or TorchScript; needed with --abnormal)")
	fs.Var(&o.normals, "normal", "a normal reference (image or features file); repeatable")
	fs.Var(&o.abnormals, "abnormal", "an abnormal reference (image or features file); repeatable")
	fs.Var(&o.masks, "abnormal-mask", "the defect mask of the matching --abnormal (non-zero = defect); repeatable")
	fs.IntVar(&o.size, "size", 448, "input side S in pixels for images (a multiple of the patch size)")
	fs.StringVar(&o.out, "out", "", "folder for per-query overlay and map images")
	fs.StringVar(&o.json, "json", "", "write the scores and G×G maps of every query to this JSON file")
	fs.StringVar(&o.backend, "backend", "cpu", "compute backend: "+backendNames)
	queries, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	o.queries = queries
	switch {
	case len(queries) == 0:
		return nil, usageErrorf("no query given")
	case len(o.normals)+len(o.abnormals) == 0:
		return nil, usageErrorf("give at least one --normal or --abnormal reference")
	case len(o.masks) != len(o.abnormals):
		return nil, usageErrorf("%d --abnormal but %d --abnormal-mask: each abnormal reference needs its mask, in the same order", len(o.abnormals), len(o.masks))
	case len(o.abnormals) > 0 && o.head == "":
		return nil, usageErrorf("--abnormal needs --head (the IDE weights)")
	case o.size <= 0:
		return nil, usageErrorf("--size %d must be positive", o.size)
	}
	for _, p := range o.all() {
		if o.backbone == "" && !ideal.IsFeaturesFile(p) {
			return nil, usageErrorf("%s is an image: --backbone is needed to compute its features", p)
		}
	}
	return o, nil
}

// all lists every input: references and queries.
func (o *scoreFlags) all() []string {
	return append(append(append([]string{}, o.normals...), o.abnormals...), o.queries...)
}

// refs are the references of the flags.
func (o *scoreFlags) refs() ideal.Refs {
	var r ideal.Refs
	for _, p := range o.normals {
		r.Normal = append(r.Normal, ideal.File(p))
	}
	for i, p := range o.abnormals {
		r.Abnormal = append(r.Abnormal, ideal.Abnormal{Input: ideal.File(p), MaskPath: o.masks[i]})
	}
	return r
}

func runScore(args []string) error {
	o, err := parseScoreFlags(args)
	if err != nil {
		return err
	}
	be, err := openBackend(o.backend)
	if err != nil {
		return err
	}
	defer be.Close()
	det, err := ideal.New(ideal.Options{Backbone: o.backbone, Head: o.head, Size: o.size, Backend: be,
		Warn: func(s string) { fmt.Fprintf(os.Stderr, "warning: %s\n", s) }})
	if err != nil {
		return err
	}
	defer det.Close()
	if o.backbone != "" { // load it now: a --size it cannot take is a usage error before any input is read
		if _, err := det.Backbone(); errors.Is(err, ideal.ErrBadOption) {
			return usageErrorf("--size: %v", err)
		} else if err != nil {
			return err
		}
	}
	ctx := context.Background()
	ep, err := det.Episode(ctx, o.refs())
	if err != nil {
		return err
	}
	defer ep.Close()
	bar := newBar(len(o.queries), "score")
	scored := make([]*ideal.Result, len(o.queries))
	for i, q := range o.queries {
		if scored[i], err = ep.Score(ctx, ideal.File(q)); err != nil {
			return err
		}
		scored[i].Image = nil // the outputs decode it again when they need it
		if bar != nil {
			bar.Add(1)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	if err := writeScoreOutputs(o, scored, ep.Warnings()); err != nil {
		return err
	}
	for i, r := range scored {
		fmt.Printf("%s\t%.6f\n", o.queries[i], r.ImageScore)
	}
	return nil
}

// writeScoreOutputs writes --json and --out.
func writeScoreOutputs(o *scoreFlags, scored []*ideal.Result, warnings []string) error {
	if o.json != "" {
		if err := writeScoreJSON(o.json, o.queries, scored, warnings); err != nil {
			return err
		}
	}
	if o.out == "" {
		return nil
	}
	names, err := writeScoreImages(o.out, o.queries, scored)
	if err != nil {
		return err
	}
	m := &results.Manifest{Tool: "ideal score", Head: o.head, Size: scored[0].Side,
		Episodes: []results.Episode{{Normal: o.normals}}}
	for _, p := range o.all() {
		if !ideal.IsFeaturesFile(p) {
			m.Backbone = o.backbone // some input is an image
		}
	}
	for i, a := range o.abnormals {
		m.Episodes[0].Abnormal = append(m.Episodes[0].Abnormal, results.Reference{Path: a, Mask: o.masks[i]})
	}
	if m.Episodes[0].Queries, err = writeScoreMaps(o.out, o.queries, scored, names); err != nil {
		return err
	}
	return results.Write(o.out, m)
}

func gridRows(v []float32, g int) [][]float32 {
	rows := make([][]float32, g)
	for i := range rows {
		rows[i] = v[i*g : (i+1)*g]
	}
	return rows
}

func writeScoreJSON(path string, queries []string, scored []*ideal.Result, warnings []string) error {
	out := scoreJSON{Warnings: warnings, Queries: make([]scoreQueryJSON, len(scored))}
	for i, r := range scored {
		out.Queries[i] = scoreQueryJSON{Path: queries[i], ImageScore: r.ImageScore,
			Map: gridRows(r.Map, r.Grid), NormalScore: gridRows(r.NormalScore, r.Grid),
			DeviationScore: gridRows(r.DeviationScore, r.Grid)}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(out)
	})
}

// writeScoreMaps writes each query's G×G maps to dir/maps/NAME.maps.safetensors and
// returns the queries of the results manifest. A query's ground truth is NAME_mask.png
// beside it, when that file exists (results.GroundTruthBeside). A query given twice is
// listed once.
func writeScoreMaps(dir string, queries []string, scored []*ideal.Result, names []string) ([]results.Query, error) {
	if err := os.MkdirAll(filepath.Join(dir, "maps"), 0o755); err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	var qs []results.Query
	seen := map[string]bool{}
	for i, p := range queries {
		r := scored[i]
		if abs, err := filepath.Abs(p); err == nil {
			if seen[abs] {
				fmt.Fprintf(os.Stderr, "warning: %s is given twice; %s lists it once\n", p, results.FileName)
				continue
			}
			seen[abs] = true
		}
		q := results.Query{Path: p, Label: -1, ImageScore: r.ImageScore, Grid: r.Grid,
			Maps: filepath.Join(dir, "maps", names[i]+results.MapsExt), Mask: results.GroundTruthBeside(p)}
		if err := results.WriteMaps(q.Maps, r.Grid, r.Map, r.NormalScore, r.DeviationScore); err != nil {
			return nil, err
		}
		qs = append(qs, q)
	}
	return qs, nil
}

// writeScoreImages writes each query's overlay and full-size map into dir and returns
// the names (NAME) it gave the queries' files. The overlays' jet colours span the
// range of A over all queries.
func writeScoreImages(dir string, queries []string, scored []*ideal.Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, r := range scored {
		for _, v := range r.Map {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	hi = max(hi, lo+1e-6)
	jet, err := imaging.LookupColormap("jet")
	if err != nil {
		return nil, err
	}
	used := map[string]int{}
	names := make([]string, len(queries))
	for i, p := range queries {
		name := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		if used[name]++; used[name] > 1 {
			name = fmt.Sprintf("%s_%d", name, used[name])
		}
		names[i] = name
		if err := writeScoreImage(dir, name, p, scored[i], lo, hi, jet); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// writeScoreImage writes NAME_map.tiff (A at the image's size, or S×S for features)
// and NAME_overlay.png (A in [lo, hi] coloured, half over the image).
func writeScoreImage(dir, name, path string, r *ideal.Result, lo, hi float32, c imaging.Colormap) error {
	var base *imaging.RGB
	w, h := r.Side, r.Side
	if r.W > 0 {
		var err error
		if base, err = imaging.LoadRGB(path); err != nil {
			return err
		}
		w, h = base.W, base.H
	}
	full := r.Upsample(h, w)
	if err := mapio.Write(filepath.Join(dir, name+"_map.tiff"), &mapio.Map{W: w, H: h, Pix: full}); err != nil {
		return err
	}
	scaled := make([]float32, len(full))
	for i, v := range full {
		scaled[i] = (v - lo) / (hi - lo)
	}
	img := c.Colorize(scaled, w, h)
	if base != nil {
		img = imaging.Overlay(base, scaled, c, 0.5)
	}
	return imaging.WritePNG(filepath.Join(dir, name+"_overlay.png"), img)
}
