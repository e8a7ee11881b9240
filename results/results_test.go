package results

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

// sample returns a two-episode manifest whose files lie in dir (maps, one query) and
// in other (everything else).
func sample(dir, other string) *Manifest {
	return &Manifest{Tool: "ideal eval", Backbone: "bb.safetensors", Head: "head.safetensors", Size: 112,
		Episodes: []Episode{
			{Class: "nut", Normal: []string{filepath.Join(other, "n0.png")},
				Abnormal: []Reference{{Path: filepath.Join(other, "a0.png"), Mask: filepath.Join(other, "a0_mask.png")}},
				Queries: []Query{
					{Path: filepath.Join(other, "q0.png"), Mask: filepath.Join(other, "q0_mask.png"), Label: 1, ImageScore: 0.75, Grid: 2, Maps: filepath.Join(dir, "maps", "q0"+MapsExt)},
					{Path: filepath.Join(dir, "inside", "q1.png"), Label: 0, ImageScore: 0.25, Grid: 2, Maps: filepath.Join(dir, "maps", "q1"+MapsExt)},
				}},
			{Class: "fabric", Normal: []string{filepath.Join(other, "n1.png")},
				Queries: []Query{{Path: filepath.Join(other, "q0.png"), Label: -1, ImageScore: 0.5, Grid: 3, Maps: filepath.Join(dir, "maps", "f"+MapsExt)}}},
		}}
}

func TestResultsRoundTrip(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	m := sample(dir, other)
	want := sample(dir, other)
	want.Version = Version
	want.Backbone, _ = filepath.Abs(want.Backbone) // relative paths are the working directory's
	want.Head, _ = filepath.Abs(want.Head)
	if err := Write(dir, m); err != nil {
		t.Fatal(err)
	}
	if m.Version != 0 || m.Episodes[0].Queries[1].Path != filepath.Join(dir, "inside", "q1.png") {
		t.Error("Write modified its argument")
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
	// Reading the file itself gives the same.
	if got2, err := Read(filepath.Join(dir, FileName)); err != nil || !reflect.DeepEqual(got2, want) {
		t.Errorf("Read(view.json): %v", err)
	}

	// On disk: paths inside dir are relative (with slashes), the others absolute.
	raw, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for _, w := range []string{`"maps": "maps/q0.maps.safetensors"`, `"path": "inside/q1.png"`, `"path": "` + filepath.ToSlash(filepath.Join(other, "a0.png")) + `"`} {
		if !strings.Contains(s, w) {
			t.Errorf("view.json lacks %s:\n%s", w, s)
		}
	}
	if strings.Contains(s, dir) {
		t.Errorf("view.json holds the folder's absolute path:\n%s", s)
	}

	// The folder moves as a whole: its own files follow it.
	moved := filepath.Join(t.TempDir(), "moved")
	if err := os.Rename(dir, moved); err != nil {
		t.Fatal(err)
	}
	got, err = Read(moved)
	if err != nil {
		t.Fatal(err)
	}
	if q := got.Episodes[0].Queries[1]; q.Path != filepath.Join(moved, "inside", "q1.png") || q.Maps != filepath.Join(moved, "maps", "q1"+MapsExt) {
		t.Errorf("after moving: %+v", q)
	}
	if p := got.Episodes[0].Normal[0]; p != filepath.Join(other, "n0.png") {
		t.Errorf("outside path became %s", p)
	}
}

func TestResultsWriteRelativeInputs(t *testing.T) {
	// Relative paths given to Write are taken from the working directory.
	base := t.TempDir()
	t.Chdir(base)
	m := &Manifest{Tool: "ideal score", Episodes: []Episode{{Normal: []string{"n.safetensors"},
		Queries: []Query{{Path: "q.safetensors", Label: -1, Grid: 8, Maps: "out/maps/q" + MapsExt}}}}}
	if err := Write("out", m); err != nil {
		t.Fatal(err)
	}
	got, err := Read(filepath.Join(base, "out"))
	if err != nil {
		t.Fatal(err)
	}
	e := got.Episodes[0]
	if e.Normal[0] != filepath.Join(base, "n.safetensors") || e.Queries[0].Path != filepath.Join(base, "q.safetensors") ||
		e.Queries[0].Maps != filepath.Join(base, "out", "maps", "q"+MapsExt) {
		t.Errorf("got %+v", e)
	}
}

func TestResultsReadRejects(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, FileName), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	q := `{"path":"q.png","label":1,"image_score":0.5,"grid":4,"maps":"m"}`
	cases := []struct{ name, path, want string }{
		{"missing", dir, "does not exist"},
		{"bad json", write(`{"version":1,`), "not a valid manifest"},
		{"wrong version", write(`{"version":2,"episodes":[{"normal":["n"],"queries":[` + q + `]}]}`), "version 2"},
		{"no episodes", write(`{"version":1,"episodes":[]}`), "no episodes"},
		{"no queries", write(`{"version":1,"episodes":[{"normal":["n"],"queries":[]}]}`), "has no queries"},
		{"no references", write(`{"version":1,"episodes":[{"queries":[` + q + `]}]}`), "has no references"},
		{"duplicate", write(`{"version":1,"episodes":[{"normal":["n"],"queries":[` + q + `,{"path":"./q.png","grid":4,"maps":"m2"}]}]}`), "appears twice"},
		{"grid 0", write(`{"version":1,"episodes":[{"normal":["n"],"queries":[{"path":"q","grid":0,"maps":"m"}]}]}`), "grid 0"},
		{"grid huge", write(`{"version":1,"episodes":[{"normal":["n"],"queries":[{"path":"q","grid":1000000000,"maps":"m"}]}]}`), "grid 1000000000"},
		{"size huge", write(`{"version":1,"size":2000000000,"episodes":[{"normal":["n"],"queries":[{"path":"q","grid":4,"maps":"m"}]}]}`), "size 2000000000"},
		{"no maps", write(`{"version":1,"episodes":[{"normal":["n"],"queries":[{"path":"q","grid":4}]}]}`), "no maps file"},
		{"label", write(`{"version":1,"episodes":[{"normal":["n"],"queries":[{"path":"q","grid":4,"maps":"m","label":2}]}]}`), "label 2"},
		{"empty query path", write(`{"version":1,"episodes":[{"normal":["n"],"queries":[{"grid":4,"maps":"m"}]}]}`), "empty path"},
	}
	for _, c := range cases {
		_, err := Read(c.path)
		if err == nil || !strings.HasPrefix(err.Error(), "results: ") || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), FileName) {
			t.Errorf("%s: error %v, want one starting with \"results: \", naming %s and containing %q", c.name, err, FileName, c.want)
		}
	}
	// The same query in two episodes is fine (eval's classes are separate).
	ok := write(`{"version":1,"episodes":[{"normal":["n"],"queries":[` + q + `]},{"normal":["n"],"queries":[` + q + `]}]}`)
	if _, err := Read(ok); err != nil {
		t.Errorf("one query in two episodes: %v", err)
	}
}

func TestResultsWriteRejectsInvalid(t *testing.T) {
	dir := t.TempDir()
	m := &Manifest{Tool: "ideal score", Episodes: []Episode{{Normal: []string{"n"},
		Queries: []Query{{Path: "q", Grid: 8, Maps: "m"}, {Path: "q", Grid: 8, Maps: "m2"}}}}}
	if err := Write(dir, m); err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Fatalf("duplicate queries: %v", err)
	}
	m.Episodes[0].Queries[0].ImageScore = float32(math.NaN())
	m.Episodes[0].Queries = m.Episodes[0].Queries[:1]
	if err := Write(dir, m); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Fatalf("NaN score: %v", err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("a refused manifest left %d files", len(es))
	}
}

func TestResultsMapsRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "q"+MapsExt)
	a := []float32{0.1, 0.2, 0.3, 0.4}
	sn := []float32{1, 0.9, 0.8, 0.7}
	sa := []float32{-1, 0, 1, 2}
	if err := WriteMaps(p, 2, a, sn, sa); err != nil {
		t.Fatal(err)
	}
	g, ga, gsn, gsa, err := ReadMaps(p)
	if err != nil {
		t.Fatal(err)
	}
	if g != 2 || !reflect.DeepEqual(ga, a) || !reflect.DeepEqual(gsn, sn) || !reflect.DeepEqual(gsa, sa) {
		t.Errorf("read back %d %v %v %v", g, ga, gsn, gsa)
	}
	// The file is a plain safetensors file with [2 2] tensors named A, s_n, s_a.
	f, err := weights.ReadSafetensors(p)
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Tensors["s_n"].Shape; len(s) != 2 || s[0] != 2 || s[1] != 2 || f.Metadata["grid"] != "2" {
		t.Errorf("s_n shape %v, metadata %v", s, f.Metadata)
	}
	q := Query{Path: "q.png", Grid: 2, Maps: p}
	if la, _, _, err := q.LoadMaps(); err != nil || !reflect.DeepEqual(la, a) {
		t.Errorf("LoadMaps: %v", err)
	}
	q.Grid = 3
	if _, _, _, err := q.LoadMaps(); err == nil || !strings.Contains(err.Error(), "grid 3") {
		t.Errorf("grid mismatch with the manifest: %v", err)
	}
}

func TestResultsMapsRejects(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	four := []float32{1, 2, 3, 4}
	nan := []float32{1, float32(math.NaN()), 3, 4}
	inf := []float32{1, 2, float32(math.Inf(1)), 4}
	// Files that WriteMaps would never write, made with the safetensors writer.
	raw := func(name string, ts map[string]*tensor.Dense, md map[string]string) string {
		if err := weights.WriteSafetensors(p(name), ts, md); err != nil {
			t.Fatal(err)
		}
		return p(name)
	}
	d := func(v []float32, shape ...int) *tensor.Dense {
		return tensor.FromData(append([]float32(nil), v...), shape...)
	}
	good := raw("good", map[string]*tensor.Dense{"A": d(four, 2, 2), "s_n": d(four, 2, 2), "s_a": d(four, 2, 2)}, map[string]string{"grid": "2"})
	full, _ := os.ReadFile(good)
	if err := os.WriteFile(p("truncated"), full[:len(full)-5], 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p("empty"), nil, 0o644)
	cases := []struct{ name, path, want string }{
		{"missing", p("absent"), "absent"},
		{"empty", p("empty"), "not a safetensors file"},
		{"truncated", p("truncated"), "truncated"},
		{"NaN", raw("nan", map[string]*tensor.Dense{"A": d(four, 2, 2), "s_n": d(nan, 2, 2), "s_a": d(four, 2, 2)}, nil), "map s_n: non-finite value NaN at row 0, column 1"},
		{"Inf", raw("inf", map[string]*tensor.Dense{"A": d(inf, 2, 2), "s_n": d(four, 2, 2), "s_a": d(four, 2, 2)}, nil), "map A: non-finite value +Inf"},
		{"grid mismatch", raw("grid", map[string]*tensor.Dense{"A": d(four, 2, 2), "s_n": d(make([]float32, 9), 3, 3), "s_a": d(four, 2, 2)}, nil), "s_n is 3×3 but A is 2×2"},
		{"not square", raw("rect", map[string]*tensor.Dense{"A": d(four, 1, 4), "s_n": d(four, 2, 2), "s_a": d(four, 2, 2)}, nil), "shape [1 4]"},
		{"metadata grid", raw("meta", map[string]*tensor.Dense{"A": d(four, 2, 2), "s_n": d(four, 2, 2), "s_a": d(four, 2, 2)}, map[string]string{"grid": "4"}), "metadata grid \"4\""},
		{"missing map", raw("nosa", map[string]*tensor.Dense{"A": d(four, 2, 2), "s_n": d(four, 2, 2)}, nil), "no map \"s_a\""},
	}
	for _, c := range cases {
		_, _, _, _, err := ReadMaps(c.path)
		if err == nil || !strings.HasPrefix(err.Error(), "results: ") || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: error %v, want one starting with \"results: \", naming %s and containing %q", c.name, err, c.path, c.want)
		}
	}
	if _, _, _, _, err := ReadMaps(good); err != nil {
		t.Errorf("good file: %v", err)
	}

	// WriteMaps refuses what ReadMaps would refuse, and leaves no file.
	for _, c := range []struct {
		g          int
		a, sn, sa  []float32
		want, name string
	}{
		{2, four, nan, four, "map s_n: non-finite", "w-nan"},
		{2, four, four, four[:3], "map s_a has 3 values, want 2×2", "w-short"},
		{0, nil, nil, nil, "grid 0", "w-zero"},
	} {
		err := WriteMaps(p(c.name), c.g, c.a, c.sn, c.sa)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("WriteMaps %s: %v, want %q", c.name, err, c.want)
		}
		if _, err := os.Stat(p(c.name)); err == nil {
			t.Errorf("WriteMaps %s left a file", c.name)
		}
	}
}

func TestResultsGroundTruthBeside(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.png", "a_mask.png", "b.jpg", "c.safetensors", "c_mask.png"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "d_mask.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{
		"a.png":         "a_mask.png", // beside it
		"b.jpg":         "",           // none
		"c.safetensors": "",           // a features file has no image to compare with
		"d.png":         "",           // a folder is not a mask
	} {
		if want != "" {
			want = filepath.Join(dir, want)
		}
		if got := GroundTruthBeside(filepath.Join(dir, q)); got != want {
			t.Errorf("%s: %q, want %q", q, got, want)
		}
	}
}

// The bound on grids is the backbone's.
func TestMaxGridIsTheBackbones(t *testing.T) {
	if MaxGrid != dinov2.MaxGrid {
		t.Errorf("results.MaxGrid = %d, dinov2.MaxGrid = %d", MaxGrid, dinov2.MaxGrid)
	}
}
