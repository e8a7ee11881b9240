package ideal

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"os"

	"github.com/ideal-fsad/ideal/featcache"
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/tensor"
)

// Features are an input's patch features and how they map back onto its pixels.
type Features struct {
	Patches *tensor.Dense // [G·G, C], row-major grid
	Side    int           // the input side S they were computed at
	Patch   int           // the patch size in pixels: S = G·Patch
	W, H    int           // the image's size in pixels (0 for features given as such)
	// Image is the decoded image when the detector decoded it (nil for a cache hit on
	// disk and for features given as such).
	Image *imaging.RGB
}

// Grid is the side G of the patch grid.
func (f *Features) Grid() int { return f.Side / f.Patch }

// Features returns an input's patch features: read from a features file, taken from a
// cache, or computed by the backbone. Errors about the input wrap ErrBadInput.
func (d *Detector) Features(ctx context.Context, in Input) (*Features, error) {
	if err := checkCtx(ctx); err != nil {
		return nil, err
	}
	f, err := d.features(in)
	if err != nil {
		return nil, err
	}
	if d.hw != nil && f.Patches.Shape[1] != d.hw.C() {
		return nil, badInputf(in.String(), "features are %d wide but the head expects %d (features of another backbone?)", f.Patches.Shape[1], d.hw.C())
	}
	return f, nil
}

func (d *Detector) features(in Input) (*Features, error) {
	name := in.String()
	switch {
	case in.Patches != nil:
		g, err := gridSide(in.Patches, d.size)
		if err != nil {
			return nil, badInput(name, err)
		}
		if i := tensor.NonFinite(in.Patches.Data); i >= 0 {
			return nil, badInputf(name, "non-finite feature value %v", in.Patches.Data[i])
		}
		return &Features{Patches: in.Patches, Side: d.size, Patch: d.size / g}, nil
	case in.Data == nil && IsFeaturesFile(in.Path):
		ff, err := dinov2.ReadFeaturesFile(in.Path)
		if err != nil {
			return nil, badInput(in.Path, err)
		}
		if i := tensor.NonFinite(ff.Features.Data); i >= 0 {
			return nil, badInputf(name, "non-finite feature value %v", ff.Features.Data[i])
		}
		return &Features{Patches: ff.Features, Side: ff.Side, Patch: ff.Patch}, nil
	}
	raw := in.Data
	if raw == nil {
		var err error
		if raw, err = os.ReadFile(in.Path); err != nil {
			return nil, badInput("", err) // the error names the file
		}
	}
	if d.mem == nil && d.disk == nil {
		return d.decodeAndCompute(name, raw)
	}
	sum := sha256.Sum256(raw) // the content's identity for both caches: hashed once
	if f := d.memGet(sum); f != nil {
		return f, nil
	}
	var key string
	if d.disk != nil {
		key = d.disk.KeyOfHash(sum, d.size)
		if f := d.fromDisk(name, key); f != nil {
			d.memPut(sum, f)
			return f, nil
		}
	}
	f, err := d.decodeAndCompute(name, raw)
	if err != nil {
		return nil, err
	}
	if d.disk != nil {
		if err := d.disk.Put(key, &featcache.Entry{Features: f.Patches, W: f.W, H: f.H}); err != nil {
			d.warn(err.Error()) // costs only a recomputation later
		}
	}
	d.memPut(sum, f)
	return f, nil
}

// decodeAndCompute decodes an image's bytes and runs the backbone on it.
func (d *Detector) decodeAndCompute(name string, raw []byte) (*Features, error) {
	img, err := imaging.DecodeRGB(raw)
	if err != nil {
		return nil, badInput(name, err)
	}
	return d.compute(name, img)
}

// compute runs the backbone on a decoded image.
func (d *Detector) compute(name string, img *imaging.RGB) (*Features, error) {
	px := imaging.PreprocessRGB(img, d.size)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.loadBackbone(name); err != nil {
		return nil, err
	}
	t, err := d.backbone.Features(d.be, px, d.size)
	if err != nil {
		return nil, badInput(name, err)
	}
	d.stats.Forwards++
	if tensor.NonFinite(t.Data) >= 0 {
		return nil, badInputf(name, "the backbone's features are not finite (NaN or Inf)")
	}
	return &Features{Patches: t, Side: d.size, Patch: d.backbone.Patch, W: img.W, H: img.H, Image: img}, nil
}

// fromDisk returns the disk cache's entry for key when it passes acceptCached, else nil
// (the reason given to Warn).
func (d *Detector) fromDisk(name, key string) *Features {
	e, err := d.disk.Get(key)
	if err != nil {
		d.warn(fmt.Sprintf("%v; recomputing it", err))
		return nil
	}
	if e == nil {
		return nil
	}
	headC := 0
	if d.hw != nil {
		headC = d.hw.C()
	}
	f, err := acceptCached(e, d.size, headC)
	if err != nil {
		d.warn(fmt.Sprintf("featcache: the entry of %s %v; recomputing it", name, err))
		return nil
	}
	d.mu.Lock()
	d.stats.DiskHits++
	d.mu.Unlock()
	return f
}

// acceptCached is the one rule by which a feature-cache entry is used: its features are
// finite, form a square grid whose patch divides S, and are as wide as the head (headC;
// 0: no head).
func acceptCached(e *featcache.Entry, size, headC int) (*Features, error) {
	if i := tensor.NonFinite(e.Features.Data); i >= 0 {
		return nil, fmt.Errorf("holds non-finite features")
	}
	g, err := gridSide(e.Features, size)
	if err != nil {
		return nil, err
	}
	if headC > 0 && headC != e.Features.Shape[1] {
		return nil, fmt.Errorf("holds features %d wide, the head expects %d", e.Features.Shape[1], headC)
	}
	return &Features{Patches: e.Features, Side: size, Patch: size / g, W: e.W, H: e.H}, nil
}

// gridSide returns G for features [G·G, C] at side size (G must divide size).
func gridSide(t *tensor.Dense, size int) (int, error) {
	if t == nil || len(t.Shape) != 2 || t.Shape[0] < 1 || t.Shape[1] < 1 {
		return 0, fmt.Errorf("features must have shape [N C]")
	}
	g := int(math.Round(math.Sqrt(float64(t.Shape[0]))))
	if g*g != t.Shape[0] || size%g != 0 {
		return 0, fmt.Errorf("%d feature rows do not form a square patch grid for input size %d", t.Shape[0], size)
	}
	return g, nil
}

func (d *Detector) memGet(key [32]byte) *Features {
	if d.mem == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.mem.get(key)
	if f != nil {
		d.stats.MemoryHits++
	}
	return f
}

func (d *Detector) memPut(key [32]byte, f *Features) {
	if d.mem == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.mem.put(key, f)
}
