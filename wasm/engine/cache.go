package engine

import (
	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/tensor"
)

// cacheBudget bounds the feature cache (features and decoded images), in bytes: enough
// for a few dozen 448-pixel ViT-S images, small beside the 4 GiB a wasm page can hold.
const cacheBudget = 256 << 20

type cacheEntry struct {
	feats *tensor.Dense
	img   *imaging.RGB
}

func (e *cacheEntry) bytes() int { return 4*len(e.feats.Data) + len(e.img.Pix) }

// featureCache maps an image's content hash to its features and decoded pixels, least
// recently used first out once the budget is exceeded (the newest entry always stays).
type featureCache struct {
	budget, used int
	entries      map[[32]byte]*cacheEntry
	order        [][32]byte // least recently used first
}

func (c *featureCache) get(key [32]byte) *cacheEntry {
	e, ok := c.entries[key]
	if !ok {
		return nil
	}
	c.touch(key)
	return e
}

func (c *featureCache) touch(key [32]byte) {
	for i, k := range c.order {
		if k == key {
			c.order = append(append(c.order[:i:i], c.order[i+1:]...), key)
			return
		}
	}
}

func (c *featureCache) put(key [32]byte, e *cacheEntry) {
	if c.entries == nil {
		c.entries = map[[32]byte]*cacheEntry{}
	}
	c.entries[key] = e
	c.order = append(c.order, key)
	c.used += e.bytes()
	for c.used > c.budget && len(c.order) > 1 {
		old := c.order[0]
		c.order = c.order[1:]
		c.used -= c.entries[old].bytes()
		delete(c.entries, old)
	}
}
