package featcache

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ideal-fsad/ideal/tensor"
)

func TestHitMiss(t *testing.T) {
	dir := t.TempDir()
	c := New(dir, "bb1")
	img := []byte("some image bytes")
	k := c.Key(img, 112)
	if e, err := c.Get(k); e != nil || err != nil {
		t.Fatalf("empty cache: got %v, %v; want a miss", e, err)
	}
	want := &Entry{Features: tensor.FromData([]float32{1, 2, 3, 4, 5, 6}, 3, 2), W: 640, H: 480}
	if err := c.Put(k, want); err != nil {
		t.Fatal(err)
	}
	got, err := New(dir, "bb1").Get(k) // a new Cache value: read from disk
	if err != nil || got == nil {
		t.Fatalf("after Put: %v, %v", got, err)
	}
	if got.W != 640 || got.H != 480 || !slices.Equal(got.Features.Shape, []int{3, 2}) || !slices.Equal(got.Features.Data, want.Features.Data) {
		t.Fatalf("got %+v %v, want %+v %v", got, got.Features, want, want.Features)
	}
}

func TestKeyDependsOnContentSizeBackbone(t *testing.T) {
	a, b := New("x", "bb1"), New("x", "bb2")
	img := []byte("image")
	keys := []string{a.Key(img, 112), a.Key(img, 224), b.Key(img, 112), a.Key([]byte("imagf"), 112)}
	for i := range keys {
		for j := range i {
			if keys[i] == keys[j] {
				t.Errorf("keys %d and %d are equal: %s", i, j, keys[i])
			}
		}
	}
	if a.Key(img, 112) != New("y", "bb1").Key(slices.Clone(img), 112) {
		t.Error("the key must depend on the content, size and backbone only")
	}
}

func TestCorruptEntry(t *testing.T) {
	dir := t.TempDir()
	c := New(dir, "bb")
	k := c.Key([]byte("i"), 14)
	p := c.path(k)
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.WriteFile(p, []byte("not safetensors"), 0o644)
	if e, err := c.Get(k); err == nil || e != nil {
		t.Fatalf("corrupt entry: got %v, %v; want an error", e, err)
	}
	// Put replaces it.
	if err := c.Put(k, &Entry{Features: tensor.New(1, 1), W: 1, H: 1}); err != nil {
		t.Fatal(err)
	}
	if e, err := c.Get(k); err != nil || e == nil {
		t.Fatalf("after Put: %v, %v", e, err)
	}
}

func TestBackboneID(t *testing.T) {
	p := filepath.Join(t.TempDir(), "w")
	os.WriteFile(p, []byte("abc"), 0o644)
	id, err := BackboneID(p)
	// sha256("abc")
	if err != nil || id != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("BackboneID = %q, %v", id, err)
	}
	if _, err := BackboneID(p + "-missing"); err == nil {
		t.Fatal("missing file: no error")
	}
}
