// Package scorerun writes the outputs of scoring queries against one episode, as
// 'ideal score' does: the JSON of the image scores and G×G maps (WriteJSON), and a
// folder (WriteFolder) with per-query overlays and full-size anomaly maps, plus the
// results folder (package results: view.json and the maps files) that the desktop
// viewer opens.
//
// It sits beside package results rather than in it: results is the folder's format,
// read by the viewer and written by eval, and does not depend on the pipeline, while
// these writers take the pipeline's results (ideal.Result) and its pixel map.
package scorerun

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/internal/atomicfile"
	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/results"
)

// QueryJSON is one query of the JSON document: the maps are G×G, row by row.
type QueryJSON struct {
	Path           string      `json:"path"`
	ImageScore     float32     `json:"image_score"`
	Map            [][]float32 `json:"map"`
	NormalScore    [][]float32 `json:"normal_score"`
	DeviationScore [][]float32 `json:"deviation_score"`
}

// JSON is the document WriteJSON writes ('ideal score --json').
type JSON struct {
	Warnings []string    `json:"warnings,omitempty"`
	Queries  []QueryJSON `json:"queries"`
}

func gridRows(v []float32, g int) [][]float32 {
	rows := make([][]float32, g)
	for i := range rows {
		rows[i] = v[i*g : (i+1)*g]
	}
	return rows
}

// WriteJSON writes, atomically, the JSON document of the queries (their paths) and
// their results scored[i], with the episode's warnings.
func WriteJSON(path string, queries []string, scored []*ideal.Result, warnings []string) error {
	out := JSON{Warnings: warnings, Queries: make([]QueryJSON, len(scored))}
	for i, r := range scored {
		out.Queries[i] = QueryJSON{Path: queries[i], ImageScore: r.ImageScore,
			Map: gridRows(r.Map, r.Grid), NormalScore: gridRows(r.NormalScore, r.Grid),
			DeviationScore: gridRows(r.DeviationScore, r.Grid)}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(out)
	})
}

// Run describes a scoring run for the results manifest.
type Run struct {
	Tool      string              // the manifest's tool, e.g. "ideal score"
	Backbone  string              // recorded when some input is an image
	Head      string              // the head's weights, or ""
	Normals   []string            // the normal references
	Abnormals []results.Reference // the abnormal references with their masks
	Queries   []string            // the queries, in the order of the results
}

// WriteFolder writes into dir, for each query, NAME_overlay.png (the anomaly map in
// jet colours, spanning the range of A over all queries, half over the image at its
// original size; for a features query, the colours alone at S×S) and NAME_map.tiff (A
// at that size, float32 TIFF), where NAME is the query's base name without extension
// (NAME_2, NAME_3, ... when names repeat); then dir/maps/NAME.maps.safetensors (the
// G×G maps) and dir/view.json, the results manifest. A query's ground truth is
// recorded there when a mask NAME_mask.png lies beside it. A query given twice is
// listed once, and said to warn (when not nil).
//
// The results' images may be nil: a query image is decoded again for its overlay.
func WriteFolder(dir string, run Run, scored []*ideal.Result, warn func(string)) error {
	names, err := writeImages(dir, run.Queries, scored)
	if err != nil {
		return err
	}
	m := &results.Manifest{Tool: run.Tool, Head: run.Head, Size: scored[0].Side,
		Episodes: []results.Episode{{Normal: run.Normals, Abnormal: run.Abnormals}}}
	for _, p := range append(append(append([]string{}, run.Normals...), run.refPaths()...), run.Queries...) {
		if !ideal.IsFeaturesFile(p) {
			m.Backbone = run.Backbone // some input is an image
		}
	}
	if m.Episodes[0].Queries, err = writeMaps(dir, run.Queries, scored, names, warn); err != nil {
		return err
	}
	return results.Write(dir, m)
}

func (r Run) refPaths() []string {
	var ps []string
	for _, a := range r.Abnormals {
		ps = append(ps, a.Path)
	}
	return ps
}

// writeMaps writes each query's G×G maps to dir/maps/NAME.maps.safetensors and
// returns the queries of the results manifest.
func writeMaps(dir string, queries []string, scored []*ideal.Result, names []string, warn func(string)) ([]results.Query, error) {
	if err := os.MkdirAll(filepath.Join(dir, "maps"), 0o755); err != nil {
		return nil, err
	}
	var qs []results.Query
	seen := map[string]bool{}
	for i, p := range queries {
		r := scored[i]
		if abs, err := filepath.Abs(p); err == nil {
			if seen[abs] {
				if warn != nil {
					warn(fmt.Sprintf("%s is given twice; %s lists it once", p, results.FileName))
				}
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

// writeImages writes each query's overlay and full-size map into dir and returns the
// names (NAME) it gave the queries' files.
func writeImages(dir string, queries []string, scored []*ideal.Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
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
		if err := writeImage(dir, name, p, scored[i], lo, hi, jet); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// writeImage writes NAME_map.tiff (A at the image's size, or S×S for features)
// and NAME_overlay.png (A in [lo, hi] coloured, half over the image).
func writeImage(dir, name, path string, r *ideal.Result, lo, hi float32, c imaging.Colormap) error {
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
