package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/internal/cli"
	"github.com/ideal-fsad/ideal/results"
	"github.com/ideal-fsad/ideal/results/scorerun"
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

// writeScoreOutputs writes --json (scorerun.WriteJSON) and --out (scorerun.WriteFolder).
func writeScoreOutputs(o *scoreFlags, scored []*ideal.Result, warnings []string) error {
	if o.json != "" {
		if err := scorerun.WriteJSON(o.json, o.queries, scored, warnings); err != nil {
			return err
		}
	}
	if o.out == "" {
		return nil
	}
	for _, d := range []string{o.out, filepath.Join(o.out, "maps")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	run := scorerun.Run{Tool: "ideal score", Backbone: o.backbone, Head: o.head, Normals: o.normals, Queries: o.queries}
	for i, a := range o.abnormals {
		run.Abnormals = append(run.Abnormals, results.Reference{Path: a, Mask: o.masks[i]})
	}
	return scorerun.WriteFolder(o.out, run, scored, func(s string) { fmt.Fprintf(os.Stderr, "warning: %s\n", s) })
}
