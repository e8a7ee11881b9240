package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/internal/atomicfile"
	"github.com/ideal-fsad/ideal/internal/cli"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/results"
	"github.com/ideal-fsad/ideal/tensor"
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
--out writes per query NAME_overlay.png (heatmap over the image at its original size; for
a features query, the heatmap alone at S×S) and NAME_map.tiff (the anomaly map A at that
size, float32 TIFF). The overlay colours span the range of A over all queries of the run.
--out also writes DIR/view.json and DIR/maps/NAME.maps.safetensors (the G×G maps A, s_n
and s_a) for the desktop viewer: 'ideal-view DIR' opens the run. A query's ground truth
is recorded there when a mask NAME_mask.png lies beside it.
Each query's path and image score are printed on stdout, one line each; warnings (e.g. an
abnormal mask that covers no patch) go to stderr and the JSON.`

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

func runScore(args []string) error {
	fs := newFlagSet("score", scoreUsage)
	var normals, abnormals, masks cli.List
	backbonePath := fs.String("backbone", "", "DINOv2 weights (needed when an input is an image)")
	headPath := fs.String("head", "", "IDE head weights (safetensors, .pth or TorchScript; needed with --abnormal)")
	fs.Var(&normals, "normal", "a normal reference (image or features file); repeatable")
	fs.Var(&abnormals, "abnormal", "an abnormal reference (image or features file); repeatable")
	fs.Var(&masks, "abnormal-mask", "the defect mask of the matching --abnormal (non-zero = defect); repeatable")
	size := fs.Int("size", 448, "input side S in pixels for images (a multiple of the patch size)")
	outDir := fs.String("out", "", "folder for per-query overlay and map images")
	jsonPath := fs.String("json", "", "write the scores and G×G maps of every query to this JSON file")
	backendName := fs.String("backend", "cpu", "compute backend: "+backendNames)
	queries, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(queries) == 0:
		return usageErrorf("no query given")
	case len(normals)+len(abnormals) == 0:
		return usageErrorf("give at least one --normal or --abnormal reference")
	case len(masks) != len(abnormals):
		return usageErrorf("%d --abnormal but %d --abnormal-mask: each abnormal reference needs its mask, in the same order", len(abnormals), len(masks))
	case len(abnormals) > 0 && *headPath == "":
		return usageErrorf("--abnormal needs --head (the IDE weights)")
	case *outDir == "" && *jsonPath == "":
		return usageErrorf("nothing to write: give --json FILE and/or --out DIR")
	}
	be, err := openBackend(*backendName)
	if err != nil {
		return err
	}
	defer be.Close()
	var hw *head.Weights
	if *headPath != "" {
		if hw, err = head.ReadFile(*headPath, ""); err != nil {
			return err
		}
	}
	src := &featureSource{be: be, backbonePath: *backbonePath, size: *size}

	// References: features computed once for the whole run.
	var normalFeats []*tensor.Dense
	for _, p := range normals {
		in, err := src.load(p, hw)
		if err != nil {
			return err
		}
		normalFeats = append(normalFeats, in.feats)
	}
	var abn []head.Abnormal
	for i, p := range abnormals {
		in, err := src.load(p, hw)
		if err != nil {
			return err
		}
		pm, err := in.patchMask(masks[i])
		if err != nil {
			return err
		}
		abn = append(abn, head.Abnormal{Features: in.feats, Mask: pm})
	}
	model := head.New(be, hw)
	defer model.Close()
	ep, err := model.NewEpisode(normalFeats, abn)
	if err != nil {
		return err
	}
	defer ep.Close()
	for _, w := range ep.Warnings() {
		fmt.Fprintf(os.Stderr, "ideal score: warning: %s\n", w)
	}

	var bar *progressbar.ProgressBar
	if len(queries) > 1 {
		bar = progressbar.NewOptions(len(queries), progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription("score"), progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish())
	}
	scored := make([]*head.Result, len(queries))
	inputs := make([]*scoreInput, len(queries))
	for i, q := range queries {
		in, err := src.load(q, hw)
		if err != nil {
			return err
		}
		if scored[i], err = ep.Score(in.feats); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		in.feats = nil // keep only what the outputs need
		inputs[i] = in
		if bar != nil {
			bar.Add(1)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	if *jsonPath != "" {
		if err := writeScoreJSON(*jsonPath, queries, scored, ep.Warnings()); err != nil {
			return err
		}
	}
	if *outDir != "" {
		names, err := writeScoreImages(*outDir, inputs, scored)
		if err != nil {
			return err
		}
		m := &results.Manifest{Tool: "ideal score", Head: *headPath, Size: inputs[0].side,
			Episodes: []results.Episode{{Normal: normals}}}
		if src.backbone != nil {
			m.Backbone = *backbonePath
		}
		for i, a := range abnormals {
			m.Episodes[0].Abnormal = append(m.Episodes[0].Abnormal, results.Reference{Path: a, Mask: masks[i]})
		}
		if m.Episodes[0].Queries, err = writeScoreMaps(*outDir, inputs, scored, names); err != nil {
			return err
		}
		if err := results.Write(*outDir, m); err != nil {
			return err
		}
	}
	for i, r := range scored {
		fmt.Printf("%s\t%.6f\n", queries[i], r.ImageScore)
	}
	return nil
}

// featureSource turns inputs (images or features files) into patch features, loading
// the backbone on first need.
type featureSource struct {
	be           kernels.Backend
	backbonePath string
	size         int
	backbone     *dinov2.Model
}

// scoreInput is one loaded input.
type scoreInput struct {
	path         string
	feats        *tensor.Dense // [N, C]
	isImage      bool
	origW, origH int // the image's size (images only)
	side         int // S: the side the features were computed at
	patch        int
}

// isFeaturesFile tells features files from images by extension.
func isFeaturesFile(path string) bool {
	return strings.EqualFold(filepath.Ext(path), ".safetensors")
}

func (s *featureSource) load(path string, hw *head.Weights) (*scoreInput, error) {
	var in *scoreInput
	var err error
	if isFeaturesFile(path) {
		in, err = readFeaturesFile(path)
	} else {
		in, err = s.fromImage(path)
	}
	if err != nil {
		return nil, err
	}
	if hw != nil && in.feats.Shape[1] != hw.C() {
		return nil, fmt.Errorf("%s: features are %d wide but the head expects %d (features of another backbone?)", path, in.feats.Shape[1], hw.C())
	}
	return in, nil
}

func readFeaturesFile(path string) (*scoreInput, error) {
	ff, err := dinov2.ReadFeaturesFile(path)
	if err != nil {
		return nil, err
	}
	return &scoreInput{path: path, feats: ff.Features, side: ff.Side, patch: ff.Patch}, nil
}

func (s *featureSource) fromImage(path string) (*scoreInput, error) {
	if s.backbone == nil {
		if s.backbonePath == "" {
			return nil, usageErrorf("%s is an image: --backbone is needed to compute its features", path)
		}
		m, err := loadBackbone(s.backbonePath, s.size, dinov2.Options{})
		if err != nil {
			return nil, err
		}
		s.backbone = m
	}
	px, w, h, err := imaging.Preprocess(path, s.size)
	if err != nil {
		return nil, err
	}
	f, err := s.backbone.Features(s.be, px, s.size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &scoreInput{path: path, feats: f, isImage: true, origW: w, origH: h, side: s.size, patch: s.backbone.Patch}, nil
}

// patchMask reads an abnormal reference's mask, checks it against the image's size,
// resizes it to S×S (nearest, PyTorch convention) and maps it to the patch grid.
func (in *scoreInput) patchMask(path string) ([]bool, error) {
	m, err := imaging.ReadMask(path)
	if err != nil {
		return nil, err
	}
	if in.isImage {
		if err := imaging.CheckMaskSize(in.origW, in.origH, m.W, m.H); err != nil {
			return nil, fmt.Errorf("%s (for %s): %w", path, in.path, err)
		}
	}
	return imaging.PatchMask(m.ResizeNearest(in.side, in.side), in.patch), nil
}

func gridRows(v []float32, g int) [][]float32 {
	rows := make([][]float32, g)
	for i := range rows {
		rows[i] = v[i*g : (i+1)*g]
	}
	return rows
}

func writeScoreJSON(path string, queries []string, results []*head.Result, warnings []string) error {
	out := scoreJSON{Warnings: warnings, Queries: make([]scoreQueryJSON, len(results))}
	for i, r := range results {
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
func writeScoreMaps(dir string, inputs []*scoreInput, res []*head.Result, names []string) ([]results.Query, error) {
	if err := os.MkdirAll(filepath.Join(dir, "maps"), 0o755); err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	var qs []results.Query
	seen := map[string]bool{}
	for i, in := range inputs {
		r := res[i]
		if abs, err := filepath.Abs(in.path); err == nil {
			if seen[abs] {
				fmt.Fprintf(os.Stderr, "ideal score: warning: %s is given twice; %s lists it once\n", in.path, results.FileName)
				continue
			}
			seen[abs] = true
		}
		q := results.Query{Path: in.path, Label: -1, ImageScore: r.ImageScore, Grid: r.Grid,
			Maps: filepath.Join(dir, "maps", names[i]+results.MapsExt)}
		q.Mask = results.GroundTruthBeside(in.path)
		if err := results.WriteMaps(q.Maps, r.Grid, r.Map, r.NormalScore, r.DeviationScore); err != nil {
			return nil, err
		}
		qs = append(qs, q)
	}
	return qs, nil
}

// writeScoreImages writes each query's overlay and full-size map into dir and returns
// the names (NAME) it gave the queries' files.
func writeScoreImages(dir string, inputs []*scoreInput, scored []*head.Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--out: %w", err)
	}
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, r := range scored {
		for _, v := range r.Map {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if hi <= lo {
		hi = lo + 1e-6
	}
	used := map[string]int{}
	names := make([]string, len(inputs))
	for i, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in.path), filepath.Ext(in.path))
		if used[name]++; used[name] > 1 {
			name = fmt.Sprintf("%s_%d", name, used[name])
		}
		names[i] = name
		w, h := in.side, in.side
		var base *imaging.RGB
		if in.isImage {
			var err error
			if base, err = imaging.LoadRGB(in.path); err != nil {
				return nil, err
			}
			w, h = base.W, base.H
		}
		full := scored[i].Upsample(h, w)
		if err := mapio.Write(filepath.Join(dir, name+"_map.tiff"), &mapio.Map{W: w, H: h, Pix: full}); err != nil {
			return nil, err
		}
		if err := writePNG(filepath.Join(dir, name+"_overlay.png"), overlay(base, full, w, h, lo, hi)); err != nil {
			return nil, err
		}
	}
	return names, nil
}

func writePNG(path string, img image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// overlay colours the map (jet, lo → blue, hi → red) and blends it half and half over
// base (nil: the colour map alone).
func overlay(base *imaging.RGB, a []float32, w, h int, lo, hi float32) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i, v := range a {
		t := float64((v - lo) / (hi - lo))
		c := [3]float64{jet(t, 3), jet(t, 2), jet(t, 1)}
		p := img.Pix[4*i:]
		for ch := 0; ch < 3; ch++ {
			x := 255 * c[ch]
			if base != nil {
				x = 0.5*x + 0.5*float64(base.Pix[3*i+ch])
			}
			p[ch] = uint8(math.Round(max(0, min(255, x))))
		}
		p[3] = 255
	}
	return img
}

// jet is one channel of the jet colour map: clamp(1.5 − |4t − centre|, 0, 1).
func jet(t, centre float64) float64 {
	return max(0, min(1, 1.5-math.Abs(4*t-centre)))
}
