package shaders

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestExpand(t *testing.T) {
	fsys := fstest.MapFS{
		"k.comp": {Data: []byte("#version 430\n#include \"a.glsl\"\nvoid main() {}\n#include \"b.glsl\"\n")},
		"a.glsl": {Data: []byte("float a() { return 1.0; }\n")},
		"b.glsl": {Data: []byte("  #include \"a.glsl\"\nfloat b() { return a(); }")},
	}
	e, err := Expand(fsys, "k.comp", Define{"N", "4"}, Define{"TRANS_B", "1"})
	if err != nil {
		t.Fatal(err)
	}
	want := "#version 430\n#define N 4\n#define TRANS_B 1\n" +
		"float a() { return 1.0; }\n" +
		"void main() {}\n" +
		"\nfloat b() { return a(); }\n"
	if e.Text != want {
		t.Errorf("Expand text:\n%s\nwant:\n%s", e.Text, want)
	}
	for n, w := range map[int]string{1: "k.comp:1", 2: "<defines>", 4: "a.glsl:1", 5: "k.comp:3", 6: "b.glsl:1", 7: "b.glsl:2", 8: "k.comp:?8"} {
		if got := e.Where(n); got != w {
			t.Errorf("Where(%d) = %q, want %q", n, got, w)
		}
	}
	if strings.Join(e.Files, ",") != "k.comp,a.glsl,b.glsl" {
		t.Errorf("Expand files %v", e.Files)
	}
}

func TestExpandErrors(t *testing.T) {
	fsys := fstest.MapFS{
		"missing.comp":   {Data: []byte("#version 430\n\n#include \"nope.glsl\"\n")},
		"nested.comp":    {Data: []byte("#version 430\n#include \"n.glsl\"\n")},
		"n.glsl":         {Data: []byte("x\n#include \"nope.glsl\"\n")},
		"malformed.comp": {Data: []byte("#version 430\n#include <a.glsl>\n")},
		"noversion.comp": {Data: []byte("void main() {}\n")},
	}
	for _, c := range []struct {
		name  string
		defs  []Define
		wants []string
	}{
		{"missing.comp", nil, []string{"missing.comp:3", "nope.glsl"}},
		{"nested.comp", nil, []string{"n.glsl:2", "nope.glsl"}},
		{"malformed.comp", nil, []string{"malformed.comp:2", "malformed include"}},
		{"noversion.comp", nil, []string{"noversion.comp", "#version"}},
		{"absent.comp", nil, []string{"absent.comp"}},
		{"missing.comp", []Define{{"A\nB", "1"}}, []string{"bad define"}},
	} {
		_, err := Expand(fsys, c.name, c.defs...)
		if err == nil {
			t.Errorf("Expand(%s) succeeded", c.name)
			continue
		}
		for _, w := range c.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Expand(%s) error %q does not mention %q", c.name, err, w)
			}
		}
		if !strings.HasPrefix(err.Error(), "shaders: ") {
			t.Errorf("Expand(%s) error %q lacks the package prefix", c.name, err)
		}
	}
}

// Every embedded kernel expands (its includes exist) and no shared file is unused.
func TestEmbeddedShadersExpand(t *testing.T) {
	comps, err := fs.Glob(FS(), "*.comp")
	if err != nil || len(comps) == 0 {
		t.Fatalf("no .comp files embedded (%v)", err)
	}
	used := map[string]bool{}
	for _, c := range comps {
		e, err := Source(c)
		if err != nil {
			t.Errorf("%s: %v", c, err)
			continue
		}
		for _, f := range e.Files[1:] {
			used[f] = true
		}
	}
	glsl, _ := fs.Glob(FS(), "*.glsl")
	for _, g := range glsl {
		if !used[g] {
			t.Errorf("%s is included by no kernel", g)
		}
	}
}
