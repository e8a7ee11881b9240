//go:build cgo && !js

package gpu

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/kernels/kerneltest"
	"github.com/ideal-fsad/ideal/shaders"
)

// open returns a backend, or skips the test when no GL 4.3 context can be had
// (a failure instead with IDEAL_REQUIRE_GPU=1, as in CI under Xvfb).
func open(t *testing.T) *backend {
	t.Helper()
	b, err := New()
	if err != nil {
		if os.Getenv("IDEAL_REQUIRE_GPU") == "1" {
			t.Fatalf("IDEAL_REQUIRE_GPU=1: %v", err)
		}
		t.Skipf("skipping the GPU tests: %v", err)
	}
	t.Logf("backend %s, max work-group count %v", b.Name(), b.(*backend).limit)
	return b.(*backend)
}

// mustNew is the suite's backend factory, once open has shown that New works;
// tweak (optional) adjusts the backend's limits.
func mustNew(tweak func(*backend)) func() kernels.Backend {
	return func() kernels.Backend {
		b, err := New()
		if err != nil {
			panic(err)
		}
		if tweak != nil {
			tweak(b.(*backend))
		}
		return b
	}
}

func TestParity(t *testing.T) {
	open(t).Close()
	kerneltest.RunAll(t, mustNew(nil))
}

// TestParitySplitDispatch runs the suite with a tiny GL_MAX_COMPUTE_WORK_GROUP_COUNT,
// so that every op's grid is split into many dispatches (u_groupOffset), and a tiny
// GL_MAX_SHADER_STORAGE_BLOCK_SIZE, so that CosineTopK works in many row chunks.
func TestParitySplitDispatch(t *testing.T) {
	if testing.Short() {
		t.Skip("the split-dispatch suite runs without -short")
	}
	open(t).Close()
	kerneltest.RunAll(t, mustNew(func(b *backend) { b.limit, b.block = [3]int{3, 2, 2}, 4096 }))
}

// An X display that does not exist gives ErrUnavailable, not a panic.
func TestNewBadDisplay(t *testing.T) {
	if glfwReady {
		t.Skip("GLFW is already connected to a display in this process")
	}
	t.Setenv("DISPLAY", ":4242")
	b, err := New()
	if err == nil {
		b.Close()
		t.Fatal("New succeeded on display :4242")
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("error %v does not wrap ErrUnavailable", err)
	}
	t.Log(err)
}

func TestUseAfterClosePanics(t *testing.T) {
	b := open(t)
	x := b.Upload([]float32{1, 2}, 2)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Download(x); err == nil {
		t.Error("Download after Close succeeded")
	}
	defer func() {
		if recover() == nil {
			t.Error("AddScaled after Close did not panic")
		}
	}()
	b.AddScaled(x, x, x, 1)
}

func TestZerosAndEmpty(t *testing.T) {
	b := open(t)
	defer b.Close()
	z := b.Zeros(3, 5)
	d, err := b.Download(z)
	if err != nil || len(d) != 15 {
		t.Fatalf("Download(Zeros(3, 5)) = %v, %v", d, err)
	}
	for _, v := range d {
		if v != 0 {
			t.Fatalf("Zeros holds %v", d)
		}
	}
	e := b.Upload(nil, 0, 4)
	if d, err := b.Download(e); err != nil || len(d) != 0 {
		t.Fatalf("Download of an empty tensor = %v, %v", d, err)
	}
	b.Free(e)
	b.Free(nil)
}

// A shader that does not compile gives an error naming its file and the line in the
// included file, with the driver's log.
func TestCompileErrorNamesFile(t *testing.T) {
	b := open(t)
	defer b.Close()
	fsys := fstest.MapFS{
		"bad.comp": {Data: []byte("#version 430\n#include \"inc.glsl\"\nlayout(local_size_x = 1) in;\nvoid main() { f(); }\n")},
		"inc.glsl": {Data: []byte("void f() {\n\tundeclared_thing = 1;\n}\n")},
	}
	src, err := shaders.Expand(fsys, "bad.comp")
	if err != nil {
		t.Fatal(err)
	}
	b.do(func() { _, err = compile(src, "bad.comp") })
	if err == nil {
		t.Fatal("a broken shader compiled")
	}
	for _, want := range []string{"bad.comp", "undeclared_thing", "inc.glsl:2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	t.Log(err)
}
