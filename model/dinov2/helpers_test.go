package dinov2

import (
	"fmt"
	"math"
	"testing"

	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

const fixtureDir = "../../testdata/fixtures/dinov2-tiny/"

// randomHF returns RandomTrainedLike weights as a weights file.
func randomHF(seed uint64, c, depth, grid, patch, registers int) *weights.File {
	return &weights.File{Tensors: RandomTrainedLike(c, depth, patch, grid, registers, seed), Metadata: map[string]string{}}
}

// toHub renames Hugging Face weights to the torch-hub names under prefix, fusing
// q, k, v into one qkv tensor.
func toHub(f *weights.File, prefix string, depth int) *weights.File {
	out := &weights.File{Tensors: map[string]*tensor.Dense{}, Metadata: f.Metadata}
	T := f.Tensors
	put := func(name string, t *tensor.Dense) { out.Tensors[prefix+name] = t }
	put("cls_token", T["embeddings.cls_token"])
	put("mask_token", T["embeddings.mask_token"])
	put("pos_embed", T["embeddings.position_embeddings"])
	put("patch_embed.proj.weight", T["embeddings.patch_embeddings.projection.weight"])
	put("patch_embed.proj.bias", T["embeddings.patch_embeddings.projection.bias"])
	if r, ok := T["embeddings.register_tokens"]; ok {
		put("register_tokens", r)
	}
	put("norm.weight", T["layernorm.weight"])
	put("norm.bias", T["layernorm.bias"])
	for i := range depth {
		h, b := fmt.Sprintf("encoder.layer.%d.", i), fmt.Sprintf("blocks.%d.", i)
		for _, pair := range [][2]string{
			{"norm1.weight", "norm1.weight"}, {"norm1.bias", "norm1.bias"},
			{"attention.output.dense.weight", "attn.proj.weight"}, {"attention.output.dense.bias", "attn.proj.bias"},
			{"layer_scale1.lambda1", "ls1.gamma"}, {"layer_scale2.lambda1", "ls2.gamma"},
			{"norm2.weight", "norm2.weight"}, {"norm2.bias", "norm2.bias"},
			{"mlp.fc1.weight", "mlp.fc1.weight"}, {"mlp.fc1.bias", "mlp.fc1.bias"},
			{"mlp.fc2.weight", "mlp.fc2.weight"}, {"mlp.fc2.bias", "mlp.fc2.bias"},
		} {
			put(b+pair[1], T[h+pair[0]])
		}
		var w, bias []float32
		for _, n := range []string{"query", "key", "value"} {
			w = append(w, T[h+"attention.attention."+n+".weight"].Data...)
			bias = append(bias, T[h+"attention.attention."+n+".bias"].Data...)
		}
		c := T[h+"attention.attention.query.bias"].Len()
		put(b+"attn.qkv.weight", tensor.FromData(w, 3*c, c))
		put(b+"attn.qkv.bias", tensor.FromData(bias, 3*c))
	}
	return out
}

// compareFeatures checks got against want: max abs error ≤ tol and every row's
// cosine ≥ minCos. It returns the max abs error and the lowest cosine.
func compareFeatures(t *testing.T, got, want *tensor.Dense, tol, minCos float64) (maxErr, worstCos float64) {
	t.Helper()
	if !tensor.SameShape(got.Shape, want.Shape) {
		t.Fatalf("features shape %v, want %v", got.Shape, want.Shape)
	}
	worstCos = 1
	for i := range want.Rows() {
		g, w := got.Row(i), want.Row(i)
		var dot, gg, ww float64
		for j := range w {
			maxErr = math.Max(maxErr, math.Abs(float64(g[j])-float64(w[j])))
			dot += float64(g[j]) * float64(w[j])
			gg += float64(g[j]) * float64(g[j])
			ww += float64(w[j]) * float64(w[j])
		}
		worstCos = math.Min(worstCos, dot/math.Sqrt(gg*ww))
	}
	if !(maxErr <= tol) || !(worstCos >= minCos) {
		t.Errorf("features: max abs error %.3g (limit %.3g), lowest patch cosine %.7f (limit %.7f)", maxErr, tol, worstCos, minCos)
	}
	return maxErr, worstCos
}
