package results

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/weights"
)

// FuzzManifest decodes arbitrary bytes as DIR/view.json (Decode, what Read does after
// reading the file). An accepted manifest must hold what validate promises (absolute
// paths, grids in range, finite scores), and writing it to another folder and reading
// it back must give it unchanged.
func FuzzManifest(f *testing.F) {
	dir := f.TempDir()
	m := sample(dir, f.TempDir())
	if err := Write(dir, m); err != nil {
		f.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	for _, s := range []string{
		``, `{}`, `null`, `[]`, `{"version":1}`, `{"version":1,"episodes":[]}`,
		`{"version":1,"episodes":[{"normal":["n"],"queries":[{"path":"q","grid":4,"maps":"m","image_score":1e39}]}]}`,
		`{"version":1,"episodes":[{"normal":["n"],"queries":[{"path":"q","grid":4,"maps":"m"},{"path":"./q","grid":4,"maps":"m"}]}]}`,
		`{"version":1,"episodes":[{"normal":["../../etc/passwd"],"abnormal":[{"path":"/a","mask":"C:\\m"}],"queries":[{"path":"q\u0000x","grid":99999999999,"maps":"m"}]}]}`,
		`{"version":2,"episodes":[{"normal":["n"],"queries":[{"path":"q","grid":4,"maps":"m"}]}]}`,
		`{"version":1,"size":-14,"episodes":[{"normal":["n"],"queries":[{"path":"q","grid":4,"maps":"m","label":-2}]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Decode(raw, dir)
		if err != nil {
			return
		}
		m.eachPath(func(p *string) {
			if *p != "" && !filepath.IsAbs(*p) {
				t.Fatalf("path %q not made absolute", *p)
			}
		})
		if err := m.validate(dir); err != nil {
			t.Fatalf("Read accepted a manifest validate refuses: %v", err)
		}
		other := t.TempDir()
		if err := Write(other, m); err != nil {
			t.Fatalf("an accepted manifest cannot be written: %v", err)
		}
		back, err := Read(other)
		if err != nil {
			t.Fatalf("a written manifest cannot be read: %v", err)
		}
		if !reflect.DeepEqual(emptyAsNil(back), emptyAsNil(m)) {
			t.Fatalf("round trip changed the manifest:\n%+v\n%+v", m, back)
		}
	})
}

// FuzzMaps decodes arbitrary bytes as a maps file (the safetensors reader, then the
// checks ReadMaps makes). Accepted maps are three G×G finite maps that WriteMaps
// writes and ReadMaps reads back bit for bit.
func FuzzMaps(f *testing.F) {
	dir := f.TempDir()
	good := filepath.Join(dir, "good"+MapsExt)
	if err := WriteMaps(good, 2, []float32{0, 1, 2, 3}, []float32{1, 1, 1, 1}, []float32{-1, 0.5, 0, 2}); err != nil {
		f.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add(raw[:len(raw)-3])
	f.Add([]byte{})
	f.Add([]byte("\x10\x00\x00\x00\x00\x00\x00\x00{\"A\":{\"dtype\":\"F32\"}}"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := weights.DecodeSafetensors(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			return
		}
		g, a, sn, sa, err := mapsOf(st, "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "results: ") {
				t.Fatalf("error without the package prefix: %v", err)
			}
			return
		}
		for _, m := range [][]float32{a, sn, sa} {
			if len(m) != g*g || checkFinite(m, g) != nil {
				t.Fatalf("accepted maps of %d values for grid %d, or non-finite", len(m), g)
			}
		}
		back := filepath.Join(t.TempDir(), "back"+MapsExt)
		if err := WriteMaps(back, g, a, sn, sa); err != nil {
			t.Fatalf("accepted maps cannot be written: %v", err)
		}
		g2, a2, sn2, sa2, err := ReadMaps(back)
		if err != nil || g2 != g || !reflect.DeepEqual([][]float32{a, sn, sa}, [][]float32{a2, sn2, sa2}) {
			t.Fatalf("round trip: grid %d→%d, err %v", g, g2, err)
		}
	})
}

// emptyAsNil returns m with empty lists nil: JSON's [] and a missing list mean the same.
func emptyAsNil(m *Manifest) *Manifest {
	m = m.clone()
	for i := range m.Episodes {
		e := &m.Episodes[i]
		if len(e.Normal) == 0 {
			e.Normal = nil
		}
		if len(e.Abnormal) == 0 {
			e.Abnormal = nil
		}
	}
	return m
}
