package dinov2

import (
	"fmt"
	"math"
	"strconv"

	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

// FeaturesFile is a file written by `ideal features`: safetensors with the tensor
// "features" of shape [N, C] (or [1, N, C]) for a square G×G patch grid, and the input
// side S in the metadata "size" (without it, patch 14 is assumed).
type FeaturesFile struct {
	Features    *tensor.Dense // [N, C]
	Side, Patch int           // input side S and patch size, S = G·patch
}

// ReadFeaturesFile reads and checks a features file.
func ReadFeaturesFile(path string) (*FeaturesFile, error) {
	f, err := weights.ReadSafetensors(path)
	if err != nil {
		return nil, fmt.Errorf("dinov2: %w", err)
	}
	t, ok := f.Tensors["features"]
	if !ok {
		return nil, fmt.Errorf("dinov2: %s: no tensor \"features\" (not written by 'ideal features'?)", path)
	}
	if len(t.Shape) == 3 && t.Shape[0] == 1 {
		t = tensor.FromData(t.Data, t.Shape[1], t.Shape[2])
	}
	if len(t.Shape) != 2 {
		return nil, fmt.Errorf("dinov2: %s: features have shape %v, want [N C]", path, t.Shape)
	}
	g := int(math.Round(math.Sqrt(float64(t.Shape[0]))))
	if g*g != t.Shape[0] {
		return nil, fmt.Errorf("dinov2: %s: %d feature rows do not form a square patch grid", path, t.Shape[0])
	}
	ff := &FeaturesFile{Features: t, Patch: 14, Side: 14 * g}
	if v, ok := f.Metadata["size"]; ok {
		side, err := strconv.Atoi(v)
		if err != nil || side <= 0 || side%g != 0 {
			return nil, fmt.Errorf("dinov2: %s: metadata size %q does not fit a %d×%d grid", path, v, g, g)
		}
		ff.Side, ff.Patch = side, side/g
	}
	return ff, nil
}
