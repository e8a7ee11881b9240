package convert

import (
	"errors"
	"testing"

	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

// TestPart: a file with the patch embedding is a backbone, one with the head's vectors
// a head, one with both is refused with ErrBothParts, and one with neither names both
// markers.
func TestPart(t *testing.T) {
	file := func(names ...string) *weights.File {
		f := &weights.File{Tensors: map[string]*tensor.Dense{}}
		for _, n := range names {
			f.Tensors[n] = tensor.New(1)
		}
		return f
	}
	if p, err := Part(file("patch_embed.proj.weight")); p != Backbone || err != nil {
		t.Errorf("torch-hub backbone: %q, %v", p, err)
	}
	if p, err := Part(file("inner.embeddings.patch_embeddings.projection.weight")); p != Backbone || err != nil {
		t.Errorf("Hugging Face backbone: %q, %v", p, err)
	}
	if p, err := Part(file("ide." + head.NameVectors)); p != Head || err != nil {
		t.Errorf("head: %q, %v", p, err)
	}
	if _, err := Part(file("patch_embed.proj.weight", head.NameVectors)); !errors.Is(err, ErrBothParts) {
		t.Errorf("both: %v, want ErrBothParts", err)
	}
	if _, err := Part(file("other")); err == nil {
		t.Error("neither: no error")
	}
	if _, err := File(file("other"), "in.pth", Options{Part: "tail"}); err == nil {
		t.Error("part \"tail\": no error")
	}
}
