package viewer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ideal-fsad/ideal"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/tensor"
)

// MapKind selects which of a query's maps is shown.
type MapKind int

// The maps of a query, in the order the m key cycles through them.
const (
	MapA  MapKind = iota // anomaly map A
	MapSN                // normal score s_n
	MapSA                // deviation score s_a
	numMapKinds
)

// String is the map's name as the spec writes it.
func (k MapKind) String() string { return [...]string{"A", "s_n", "s_a"}[k] }

// Query is one scored query: its G×G maps and, when available, its image and ground truth.
type Query struct {
	Name       string
	Path       string
	ImageScore float32
	Grid       int
	Maps       [numMapKinds][]float32 // G×G, row-major
	Image      *imaging.RGB           // nil: the query was a features file
	Mask       *imaging.Mask          // ground truth, nil when none is known
}

// Size is the query's displayed size: its image's, or 16 pixels per patch without one.
func (q *Query) Size() (w, h int) {
	if q.Image != nil {
		return q.Image.W, q.Image.H
	}
	return q.Grid * 16, q.Grid * 16
}

// scoreFile is the JSON written by `ideal score --json`.
type scoreFile struct {
	Queries []struct {
		Path           string      `json:"path"`
		ImageScore     float32     `json:"image_score"`
		Map            [][]float32 `json:"map"`
		NormalScore    [][]float32 `json:"normal_score"`
		DeviationScore [][]float32 `json:"deviation_score"`
	} `json:"queries"`
}

// flatten checks that rows is g×g and returns it row-major.
func flatten(rows [][]float32, g int, what string) ([]float32, error) {
	if len(rows) != g {
		return nil, fmt.Errorf("%s has %d rows, want %d", what, len(rows), g)
	}
	out := make([]float32, 0, g*g)
	for i, r := range rows {
		if len(r) != g {
			return nil, fmt.Errorf("%s row %d has %d values, want %d", what, i, len(r), g)
		}
		if tensor.NonFinite(r) >= 0 {
			return nil, fmt.Errorf("%s row %d holds a non-finite value", what, i)
		}
		out = append(out, r...)
	}
	return out, nil
}

// Load opens a results folder: the JSON written by `ideal score --json` (dir/*.json,
// or dir itself when it is that file). A query's image is read from its path when it
// is an image (a relative path is looked up in the folder, then in the working
// directory); its ground truth
// is NAME_mask.png in the folder when present (NAME: the query's base name without
// extension), sized like the image.
func Load(dir string) ([]*Query, error) {
	jsonPath := dir
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("viewer: %w", err)
	} else if st.IsDir() {
		found, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		if len(found) == 0 {
			return nil, fmt.Errorf("viewer: %s holds no .json written by 'ideal score --json'", dir)
		}
		if len(found) > 1 {
			return nil, fmt.Errorf("viewer: %s holds %d .json files; name the one to open", dir, len(found))
		}
		jsonPath = found[0]
	} else {
		dir = filepath.Dir(dir)
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		return nil, fmt.Errorf("viewer: %w", err)
	}
	var sf scoreFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return nil, fmt.Errorf("viewer: %s: %w", jsonPath, err)
	}
	if len(sf.Queries) == 0 {
		return nil, fmt.Errorf("viewer: %s holds no queries", jsonPath)
	}
	qs := make([]*Query, len(sf.Queries))
	for i, sq := range sf.Queries {
		g := len(sq.Map)
		if g == 0 {
			return nil, fmt.Errorf("viewer: %s: query %d (%s) has an empty map", jsonPath, i, sq.Path)
		}
		q := &Query{Path: sq.Path, ImageScore: sq.ImageScore, Grid: g,
			Name: strings.TrimSuffix(filepath.Base(sq.Path), filepath.Ext(sq.Path))}
		for k, rows := range [][][]float32{sq.Map, sq.NormalScore, sq.DeviationScore} {
			if q.Maps[k], err = flatten(rows, g, MapKind(k).String()); err != nil {
				return nil, fmt.Errorf("viewer: %s: query %d (%s): %w", jsonPath, i, sq.Path, err)
			}
		}
		if err := q.loadFiles(dir); err != nil {
			return nil, err
		}
		qs[i] = q
	}
	return qs, nil
}

func (q *Query) loadFiles(dir string) error {
	p := q.Path
	if !filepath.IsAbs(p) {
		// `ideal score` records paths as given on its command line: relative to where
		// it ran, which is often not the results folder; try the folder first.
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			p = filepath.Join(dir, p)
		}
	}
	if !ideal.IsFeaturesFile(p) {
		img, err := imaging.LoadRGB(p)
		if err != nil {
			return fmt.Errorf("viewer: query image: %w", err)
		}
		q.Image = img
	}
	mp := filepath.Join(dir, q.Name+"_mask.png")
	if _, err := os.Stat(mp); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	m, err := imaging.ReadMask(mp)
	if err != nil {
		return fmt.Errorf("viewer: ground truth: %w", err)
	}
	w, h := q.Size()
	if m.W != w || m.H != h {
		return fmt.Errorf("viewer: ground truth %s is %d×%d, the query %d×%d", mp, m.W, m.H, w, h)
	}
	q.Mask = m
	return nil
}
