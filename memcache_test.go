package ideal

import (
	"testing"

	"github.com/ideal-fsad/ideal/imaging"
	"github.com/ideal-fsad/ideal/tensor"
)

// TestMemCacheBudget: the least recently used entry goes first once the budget is
// exceeded (moved from wasm/engine's cache test).
func TestMemCacheBudget(t *testing.T) {
	c := memCache{budget: 3 * (4*10 + 3)}
	entry := func() *Features { return &Features{Patches: tensor.New(10), Image: imaging.NewRGB(1, 1)} }
	for i := range 5 {
		c.put([32]byte{byte(i)}, entry())
		if i == 2 {
			c.get([32]byte{0}) // 0 becomes the most recently used
		}
	}
	for i, want := range []bool{true, false, false, true, true} {
		if got := c.get([32]byte{byte(i)}) != nil; got != want {
			t.Errorf("entry %d cached %v, want %v", i, got, want)
		}
	}
	if c.used != 3*(4*10+3) {
		t.Errorf("used %d bytes, want %d", c.used, 3*(4*10+3))
	}
}
