//go:build cgo && !js

package gpu

import (
	"testing"
	"testing/fstest"

	"github.com/ideal-fsad/ideal/shaders"
)

func TestAnnotate(t *testing.T) {
	src, err := shaders.Expand(fstest.MapFS{
		"k.comp": {Data: []byte("#version 430\n#include \"a.glsl\"\nvoid main() {}\n")},
		"a.glsl": {Data: []byte("x\ny\n")},
	}, "k.comp", shaders.Define{Name: "D", Value: "1"})
	if err != nil {
		t.Fatal(err)
	}
	for log, want := range map[string]string{
		"0:4(2): error: y":        "a.glsl:2(2): error: y",       // Mesa
		"0(5) : error C0000: bad": "k.comp:3 : error C0000: bad", // NVIDIA
		"warning: no position":    "warning: no position",
		"0:2(1): a\n0:3(1): b":    "<defines>(1): a\na.glsl:1(1): b",
	} {
		if got := annotate(log, src); got != want {
			t.Errorf("annotate(%q) = %q, want %q", log, got, want)
		}
	}
}
