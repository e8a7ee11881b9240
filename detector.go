package ideal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ideal-fsad/ideal/cpu"
	"github.com/ideal-fsad/ideal/featcache"
	"github.com/ideal-fsad/ideal/kernels"
	"github.com/ideal-fsad/ideal/model/dinov2"
	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

// DefaultSize is the input side S of the method (spec §2): 448 pixels, a 32×32 grid.
const DefaultSize = 448

// Sigma is the σ of the Gaussian that smooths the pixel anomaly map (spec §7).
const Sigma = 4

// Options configure a Detector. Only what a run needs must be given: a backbone when
// some input is an image, a head when some episode has abnormal references.
type Options struct {
	// Backbone is the DINOv2 weight file (Hugging Face safetensors, torch-hub .pth or a
	// TorchScript trace: whatever weights.Load reads). It is loaded on the first image
	// whose features are not cached. BackboneWeights gives the weights in memory instead
	// (e.g. read from bytes in the browser).
	Backbone        string
	BackboneWeights *weights.File
	// BackboneHeads is the backbone's attention head count when its file does not say
	// (0: from the file's metadata or config.json, else ViT-S's 6).
	BackboneHeads int
	// BackbonePrefix is the backbone's tensor-name prefix inside its file ("": detected).
	BackbonePrefix string

	// Head is the IDE head weight file; HeadWeights gives it in memory instead. Without
	// either the detector scores with normal references only (spec §1, a = 0).
	Head        string
	HeadWeights *head.Weights

	// Size is the input side S in pixels (a multiple of the backbone's patch size);
	// 0 means DefaultSize.
	Size int

	// Backend runs every op (see OpenBackend); nil means a new CPU backend, which the
	// detector then owns and closes. A backend given here is the caller's to close.
	Backend kernels.Backend
	// Lock, when set, serialises the detector's backend work in place of a mutex of its
	// own: detectors that share a Backend which is not safe for concurrent use (the GPU
	// backend) share one Lock.
	Lock *sync.Mutex

	// Cache is an on-disk feature cache folder (package featcache): an image's features
	// are taken from it when there and put there when computed. "" means none. It needs
	// Backbone (the cache is keyed by the weight file's hash).
	Cache string
	// MemoryCache bounds an in-memory cache of features (and decoded images) by image
	// content, in bytes; 0 means none. Re-scoring the same images (after a mask edit)
	// then runs no backbone pass.
	MemoryCache int

	// Warn receives what the detector works around (a cache entry that cannot be used,
	// a mask that covers the whole image); nil discards them. It may be called from
	// several goroutines at once when the detector is.
	Warn func(msg string)
}

// Detector runs the method: it owns the backbone and the head (each loaded once) and
// one feature source (decode → preprocess → backbone, with the optional caches).
// Episode prepares a set of references; the Episode scores queries. A Detector is safe
// for concurrent use: the backend work is serialised.
type Detector struct {
	opt      Options
	size     int
	be       kernels.Backend
	ownsBE   bool
	hw       *head.Weights
	disk     *featcache.Cache
	mu       *sync.Mutex // guards the backend, the backbone, the memory cache and stats; shared with the detectors WithHead makes
	borrowed bool        // made by WithHead: the backbone is its parent's (Close leaves it)
	backbone *dinov2.Model
	model    *head.Model
	mem      *memCache
	stats    Stats
}

// Stats counts where the features of images came from.
type Stats struct {
	Forwards   int // backbone passes
	DiskHits   int // taken from Options.Cache
	MemoryHits int // taken from the memory cache
}

// New checks the options and loads the head. The backbone is loaded when first needed.
func New(opt Options) (*Detector, error) {
	d := &Detector{opt: opt, size: opt.Size, be: opt.Backend, mu: opt.Lock}
	if d.mu == nil {
		d.mu = new(sync.Mutex)
	}
	if d.size == 0 {
		d.size = DefaultSize
	}
	if d.size < 0 {
		return nil, fmt.Errorf("%w: input size %d must be positive", ErrBadOption, d.size)
	}
	if opt.Backbone != "" && opt.BackboneWeights != nil {
		return nil, fmt.Errorf("%w: give Backbone or BackboneWeights, not both", ErrBadOption)
	}
	if opt.Head != "" && opt.HeadWeights != nil {
		return nil, fmt.Errorf("%w: give Head or HeadWeights, not both", ErrBadOption)
	}
	if opt.Backbone != "" {
		if _, err := os.Stat(opt.Backbone); err != nil {
			return nil, badInput(opt.Backbone, err)
		}
	}
	d.hw = opt.HeadWeights
	if opt.Head != "" {
		w, err := head.Load(opt.Head, "")
		if err != nil {
			return nil, badInput(opt.Head, err)
		}
		d.hw = w
	}
	if opt.BackboneWeights != nil {
		if err := d.setBackbone(dinov2.FromFile(opt.BackboneWeights, d.backboneOptions())); err != nil {
			return nil, err
		}
	}
	if opt.Cache != "" {
		if opt.Backbone == "" {
			return nil, fmt.Errorf("%w: a feature cache (Options.Cache) needs the backbone's file (Options.Backbone)", ErrBadOption)
		}
		id, err := featcache.BackboneID(opt.Backbone)
		if err != nil {
			return nil, badInput(opt.Backbone, err)
		}
		d.disk = featcache.New(opt.Cache, id)
	}
	if opt.MemoryCache > 0 {
		d.mem = &memCache{budget: opt.MemoryCache}
	}
	if d.be == nil {
		d.be, d.ownsBE = cpu.New(), true
	}
	d.model = head.New(d.be, d.hw)
	return d, nil
}

// setBackbone installs a loaded backbone after checking that it takes inputs of side S.
func (d *Detector) setBackbone(m *dinov2.Model, err error) error {
	if err != nil {
		return err
	}
	if err := m.CheckSize(d.size); err != nil {
		return fmt.Errorf("%w: size %d: %w", ErrBadOption, d.size, err)
	}
	if d.hw != nil && m.Width != d.hw.C() {
		return fmt.Errorf("ideal: the backbone's features are %d wide but the head expects %d (a head for another backbone?)", m.Width, d.hw.C())
	}
	d.backbone = m
	return nil
}

// backboneOptions are the backbone loader's options.
func (d *Detector) backboneOptions() dinov2.Options {
	return dinov2.Options{Heads: d.opt.BackboneHeads, Prefix: d.opt.BackbonePrefix}
}

// loadBackbone loads the backbone on first need; d.mu is held.
func (d *Detector) loadBackbone(path string) error {
	if d.backbone != nil {
		return nil
	}
	if d.opt.Backbone == "" {
		return badInputf(path, "an image: the backbone's weights (Options.Backbone) are needed to compute its features")
	}
	m, err := dinov2.Load(d.opt.Backbone, d.backboneOptions())
	if err != nil {
		return badInput(d.opt.Backbone, err)
	}
	return d.setBackbone(m, nil)
}

// Close releases the head's and the backbone's backend buffers, and the backend when
// the detector made it.
func (d *Detector) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.model.Close()
	if d.backbone != nil && !d.borrowed {
		d.backbone.Release(d.be)
	}
	if d.ownsBE {
		return d.be.Close()
	}
	return nil
}

// Size is the input side S.
func (d *Detector) Size() int { return d.size }

// Backend is the compute backend in use.
func (d *Detector) Backend() kernels.Backend { return d.be }

// HeadWeights are the head's weights (nil: normal-only).
func (d *Detector) HeadWeights() *head.Weights { return d.hw }

// Backbone returns the backbone, loading it if needed.
func (d *Detector) Backbone() (*dinov2.Model, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.loadBackbone(d.opt.Backbone); err != nil {
		return nil, err
	}
	return d.backbone, nil
}

// BackboneID identifies the backbone's weights by their content (featcache.BackboneID
// of Options.Backbone, hashed on each call); "" when they were given in memory. A
// training checkpoint records it, so that a run is resumed with the same backbone.
func (d *Detector) BackboneID() (string, error) {
	if d.opt.Backbone == "" {
		return "", nil
	}
	id, err := featcache.BackboneID(d.opt.Backbone)
	if err != nil {
		return "", badInput(d.opt.Backbone, err)
	}
	return id, nil
}

// Stats says where the features computed so far came from.
func (d *Detector) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

func (d *Detector) warn(msg string) {
	if d.opt.Warn != nil {
		d.opt.Warn(msg)
	}
}

// Input is an image or precomputed features: exactly one of Path (an image file, or a
// features file written by 'ideal features', told by its .safetensors extension), Data
// (an encoded image: PNG, JPEG, BMP, TIFF, GIF) or Patches (patch features [G·G, C] at
// the detector's size) is the input; Name names it in errors and results (Path when
// empty).
type Input struct {
	Path    string
	Data    []byte
	Patches *tensor.Dense
	Name    string
}

// File is the input read from path.
func File(path string) Input { return Input{Path: path} }

// Bytes is an encoded image held in memory, called name.
func Bytes(name string, data []byte) Input { return Input{Name: name, Data: data} }

// FromPatches is precomputed patch features [G·G, C] at the detector's size, called name.
func FromPatches(name string, patches *tensor.Dense) Input {
	return Input{Name: name, Patches: patches}
}

// String is the input's name.
func (in Input) String() string {
	if in.Name != "" {
		return in.Name
	}
	return in.Path
}

// IsFeaturesFile tells a features file written by 'ideal features' by its extension.
func IsFeaturesFile(path string) bool { return strings.EqualFold(filepath.Ext(path), ".safetensors") }

// checkCtx returns ctx's error, if any, wrapped with what was being done.
func checkCtx(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ideal: %w", err)
	}
	return nil
}
