package dinov2

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

func TestReadFeaturesFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, ts map[string]*tensor.Dense, meta map[string]string) string {
		p := filepath.Join(dir, name)
		if err := weights.WriteSafetensors(p, ts, meta); err != nil {
			t.Fatal(err)
		}
		return p
	}
	feats := func(shape ...int) map[string]*tensor.Dense {
		return map[string]*tensor.Dense{"features": tensor.New(shape...)}
	}
	for _, c := range []struct {
		path        string
		side, patch int
	}{
		{write("plain.safetensors", feats(16, 8), nil), 56, 14},                                 // G = 4, patch 14 assumed
		{write("batched.safetensors", feats(1, 9, 8), map[string]string{"size": "48"}), 48, 16}, // G = 3
	} {
		ff, err := ReadFeaturesFile(c.path)
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if ff.Side != c.side || ff.Patch != c.patch || len(ff.Features.Shape) != 2 {
			t.Errorf("%s: side %d patch %d shape %v, want side %d patch %d", c.path, ff.Side, ff.Patch, ff.Features.Shape, c.side, c.patch)
		}
	}
	for _, c := range []struct{ path, want string }{
		{filepath.Join(dir, "missing.safetensors"), "o such file"}, // "No such file" in Node (js/wasm)
		{write("other.safetensors", map[string]*tensor.Dense{"x": tensor.New(4, 2)}, nil), `no tensor "features"`},
		{write("rank.safetensors", feats(2, 4, 8), nil), "want [N C]"},
		{write("grid.safetensors", feats(10, 8), nil), "square patch grid"},
		{write("size.safetensors", feats(16, 8), map[string]string{"size": "50"}), `metadata size "50"`},
	} {
		if _, err := ReadFeaturesFile(c.path); err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "dinov2: ") {
			t.Errorf("%s: %v, want an error with %q", c.path, err, c.want)
		}
	}
}
