package ideal

// memCache maps an image's content hash to its features (and decoded image), least
// recently used first out once the budget in bytes is exceeded (the newest entry
// always stays).
type memCache struct {
	budget, used int
	entries      map[[32]byte]*Features
	order        [][32]byte // least recently used first
}

func featuresBytes(f *Features) int {
	n := 4 * len(f.Patches.Data)
	if f.Image != nil {
		n += len(f.Image.Pix)
	}
	return n
}

func (c *memCache) get(key [32]byte) *Features {
	f, ok := c.entries[key]
	if !ok {
		return nil
	}
	for i, k := range c.order {
		if k == key {
			c.order = append(append(c.order[:i:i], c.order[i+1:]...), key)
			break
		}
	}
	return f
}

func (c *memCache) put(key [32]byte, f *Features) {
	if c.entries == nil {
		c.entries = map[[32]byte]*Features{}
	}
	if _, ok := c.entries[key]; ok {
		return
	}
	c.entries[key] = f
	c.order = append(c.order, key)
	c.used += featuresBytes(f)
	for c.used > c.budget && len(c.order) > 1 {
		old := c.order[0]
		c.order = c.order[1:]
		c.used -= featuresBytes(c.entries[old])
		delete(c.entries, old)
	}
}
