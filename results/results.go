package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ideal-fsad/ideal/internal/atomicfile"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

// FileName is the manifest's name inside a results folder.
const FileName = "view.json"

// Version is the manifest format version written by Write and accepted by Read.
const Version = 1

// MapsExt is the extension of a maps file (DIR/maps/NAME.maps.safetensors).
const MapsExt = ".maps.safetensors"

// GroundTruthBeside is the ground-truth rule of `ideal score` and ideal-view's scoring
// mode: the mask of query image DIR/NAME.EXT is DIR/NAME_mask.png when that file
// exists. Features files have none ("").
func GroundTruthBeside(query string) string {
	if strings.EqualFold(filepath.Ext(query), ".safetensors") {
		return ""
	}
	p := strings.TrimSuffix(query, filepath.Ext(query)) + "_mask.png"
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
		return p
	}
	return ""
}

// Manifest is DIR/view.json.
type Manifest struct {
	Version  int       `json:"version"`            // Version
	Tool     string    `json:"tool"`               // "ideal score" or "ideal eval"
	Backbone string    `json:"backbone,omitempty"` // weights path used ("" when every input was a features file)
	Head     string    `json:"head,omitempty"`     // head path ("" = normal-only)
	Size     int       `json:"size,omitempty"`     // input side S
	Cache    string    `json:"cache,omitempty"`    // eval's feature cache folder (featcache), "" for none
	Episodes []Episode `json:"episodes"`           // score: exactly one; eval: one per class
}

// Episode is one set of references and the queries scored against them.
type Episode struct {
	Class    string      `json:"class,omitempty"`
	Normal   []string    `json:"normal"` // normal reference paths (images or features files)
	Abnormal []Reference `json:"abnormal,omitempty"`
	Queries  []Query     `json:"queries"`
}

// Reference is an abnormal reference and its defect mask.
type Reference struct {
	Path string `json:"path"`
	Mask string `json:"mask,omitempty"` // defect mask PNG of an abnormal reference
}

// Query is one scored query.
type Query struct {
	Path       string  `json:"path"`           // image or features file
	Mask       string  `json:"mask,omitempty"` // ground-truth mask when known
	Label      int     `json:"label"`          // 1 anomalous, 0 normal, -1 unknown
	ImageScore float32 `json:"image_score"`
	Grid       int     `json:"grid"` // G
	Maps       string  `json:"maps"` // maps file holding the G×G maps A, s_n, s_a
}

// ManifestPath returns the manifest file of path: path itself when it names a file,
// else path/view.json.
func ManifestPath(path string) string {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return filepath.Join(path, FileName)
	}
	return path
}

// Write writes dir/view.json atomically, creating dir when needed. The manifest is
// checked as Read checks it; paths inside dir are stored relative to dir, the others
// absolute (relative paths given to Write are taken from the working directory).
// m itself is not modified.
func Write(dir string, m *Manifest) error {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	out := m.clone()
	if out.Version == 0 {
		out.Version = Version
	}
	var convErr error
	out.eachPath(func(p *string) {
		if *p == "" || convErr != nil {
			return
		}
		a, err := filepath.Abs(*p)
		if err != nil {
			convErr = err
			return
		}
		if rel, err := filepath.Rel(absDir, a); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			a = filepath.ToSlash(rel)
		}
		*p = a
	})
	if convErr != nil {
		return fmt.Errorf("results: %w", convErr)
	}
	path := filepath.Join(dir, FileName)
	if err := out.validate(absDir); err != nil {
		return fmt.Errorf("results: %s: %w", path, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	err = atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", " ")
		return enc.Encode(out)
	})
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}

// Read reads a manifest (path: the results folder or its view.json), checks it and
// returns it with every path absolute and clean (relative ones resolved against the
// folder).
func Read(path string) (*Manifest, error) {
	path = ManifestPath(path)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("results: %s does not exist (not a folder written by 'ideal score --out' or 'ideal eval --out'?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	m, err := Decode(raw, dir)
	if err != nil {
		return nil, fmt.Errorf("results: %s: %w", path, err)
	}
	return m, nil
}

// Decode is Read on the bytes of a manifest whose folder is dir (absolute).
func Decode(raw []byte, dir string) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("not a valid manifest: %w", err)
	}
	m.eachPath(func(p *string) {
		if *p != "" {
			*p = filepath.FromSlash(*p)
			if filepath.IsAbs(*p) {
				*p = filepath.Clean(*p)
			} else {
				*p = filepath.Join(dir, *p)
			}
		}
	})
	if err := m.validate(dir); err != nil {
		return nil, err
	}
	return &m, nil
}

// clone returns a deep copy of m.
func (m *Manifest) clone() *Manifest {
	out := *m
	out.Episodes = make([]Episode, len(m.Episodes))
	for i, e := range m.Episodes {
		e.Normal = append([]string{}, e.Normal...)
		e.Abnormal = append([]Reference(nil), e.Abnormal...)
		e.Queries = append([]Query(nil), e.Queries...)
		out.Episodes[i] = e
	}
	return &out
}

// eachPath calls f on every file path of the manifest.
func (m *Manifest) eachPath(f func(*string)) {
	f(&m.Backbone)
	f(&m.Head)
	f(&m.Cache)
	for i := range m.Episodes {
		e := &m.Episodes[i]
		for j := range e.Normal {
			f(&e.Normal[j])
		}
		for j := range e.Abnormal {
			f(&e.Abnormal[j].Path)
			f(&e.Abnormal[j].Mask)
		}
		for j := range e.Queries {
			f(&e.Queries[j].Path)
			f(&e.Queries[j].Mask)
			f(&e.Queries[j].Maps)
		}
	}
}

// validate checks the manifest's structure; dir resolves relative paths for the
// duplicate check.
func (m *Manifest) validate(dir string) error {
	if m.Version != Version {
		return fmt.Errorf("manifest version %d, this program reads version %d", m.Version, Version)
	}
	if len(m.Episodes) == 0 {
		return errors.New("no episodes")
	}
	if m.Size < 0 || m.Size > maxSize {
		return fmt.Errorf("size %d is out of range [0, %d]", m.Size, maxSize)
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(dir, filepath.FromSlash(p))
	}
	for i, e := range m.Episodes {
		name := fmt.Sprintf("episode %d", i)
		if e.Class != "" {
			name = fmt.Sprintf("episode %d (%s)", i, e.Class)
		}
		if len(e.Normal)+len(e.Abnormal) == 0 {
			return fmt.Errorf("%s has no references", name)
		}
		for _, p := range e.Normal {
			if p == "" {
				return fmt.Errorf("%s: a normal reference has an empty path", name)
			}
		}
		for _, r := range e.Abnormal {
			if r.Path == "" {
				return fmt.Errorf("%s: an abnormal reference has an empty path", name)
			}
		}
		if len(e.Queries) == 0 {
			return fmt.Errorf("%s has no queries", name)
		}
		seen := map[string]bool{}
		for j, q := range e.Queries {
			switch {
			case q.Path == "":
				return fmt.Errorf("%s: query %d has an empty path", name, j)
			case seen[abs(q.Path)]:
				return fmt.Errorf("%s: query %s appears twice", name, q.Path)
			case q.Grid <= 0 || q.Grid > MaxGrid:
				return fmt.Errorf("%s: query %s has grid %d, want 1 to %d", name, q.Path, q.Grid, MaxGrid)
			case q.Maps == "":
				return fmt.Errorf("%s: query %s has no maps file", name, q.Path)
			case q.Label < -1 || q.Label > 1:
				return fmt.Errorf("%s: query %s has label %d, want 1, 0 or -1", name, q.Path, q.Label)
			case !finite(q.ImageScore):
				return fmt.Errorf("%s: query %s has a non-finite image score", name, q.Path)
			}
			seen[abs(q.Path)] = true
		}
	}
	return nil
}

// maxSize bounds the input side a manifest may record: the largest grid at a patch
// size of 64 pixels.
const maxSize = 64 * MaxGrid

// MaxGrid is the largest patch grid side a results folder may hold: the backbone's
// limit (dinov2.MaxGrid, checked equal by a test), so that a manifest cannot make a
// reader allocate from a huge grid.
const MaxGrid = 256

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// mapNames are the tensor names of a maps file, in the order A, s_n, s_a.
var mapNames = [3]string{"A", "s_n", "s_a"}

// WriteMaps writes one query's G×G maps A, s_n and s_a (row-major) to path atomically.
// It refuses maps of the wrong length or with non-finite values.
func WriteMaps(path string, g int, a, sn, sa []float32) error {
	if g <= 0 || g > MaxGrid {
		return fmt.Errorf("results: %s: grid %d, want 1 to %d", path, g, MaxGrid)
	}
	ts := map[string]*tensor.Dense{}
	for i, v := range [3][]float32{a, sn, sa} {
		if len(v) != g*g {
			return fmt.Errorf("results: %s: map %s has %d values, want %d×%d", path, mapNames[i], len(v), g, g)
		}
		if err := checkFinite(v, g); err != nil {
			return fmt.Errorf("results: %s: map %s: %w", path, mapNames[i], err)
		}
		ts[mapNames[i]] = tensor.FromData(append([]float32(nil), v...), g, g)
	}
	if err := weights.WriteSafetensors(path, ts, map[string]string{"format": "ideal-maps", "grid": strconv.Itoa(g)}); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}

// ReadMaps reads a maps file written by WriteMaps and checks that its three maps are
// G×G on one grid (the one its metadata declares) and finite.
func ReadMaps(path string) (g int, a, sn, sa []float32, err error) {
	f, err := weights.ReadSafetensors(path)
	if err != nil {
		return 0, nil, nil, nil, fmt.Errorf("results: maps file: %w", err)
	}
	return mapsOf(f, path)
}

// mapsOf checks and returns the maps of the safetensors file f read from path.
func mapsOf(f *weights.File, path string) (g int, a, sn, sa []float32, err error) {
	var out [3][]float32
	for i, name := range mapNames {
		t, ok := f.Tensors[name]
		if !ok {
			return 0, nil, nil, nil, fmt.Errorf("results: %s: no map %q (not a maps file written by ideal score/eval?)", path, name)
		}
		if len(t.Shape) != 2 || t.Shape[0] != t.Shape[1] || t.Shape[0] == 0 {
			return 0, nil, nil, nil, fmt.Errorf("results: %s: map %s has shape %v, want [G G]", path, name, t.Shape)
		}
		if i == 0 {
			g = t.Shape[0]
		} else if t.Shape[0] != g {
			return 0, nil, nil, nil, fmt.Errorf("results: %s: map %s is %d×%d but A is %d×%d", path, name, t.Shape[0], t.Shape[0], g, g)
		}
		if err := checkFinite(t.Data, g); err != nil {
			return 0, nil, nil, nil, fmt.Errorf("results: %s: map %s: %w", path, name, err)
		}
		out[i] = t.Data
	}
	if s, ok := f.Metadata["grid"]; ok && s != strconv.Itoa(g) {
		return 0, nil, nil, nil, fmt.Errorf("results: %s: metadata grid %q but the maps are %d×%d", path, s, g, g)
	}
	return g, out[0], out[1], out[2], nil
}

// LoadMaps reads the query's maps file and checks its grid against the manifest's.
func (q *Query) LoadMaps() (a, sn, sa []float32, err error) {
	g, a, sn, sa, err := ReadMaps(q.Maps)
	if err != nil {
		return nil, nil, nil, err
	}
	if g != q.Grid {
		return nil, nil, nil, fmt.Errorf("results: %s: maps are %d×%d but the manifest says grid %d for %s", q.Maps, g, g, q.Grid, q.Path)
	}
	return a, sn, sa, nil
}

func checkFinite(v []float32, g int) error {
	if i := tensor.NonFinite(v); i >= 0 {
		return fmt.Errorf("non-finite value %v at row %d, column %d", v[i], i/g, i%g)
	}
	return nil
}
