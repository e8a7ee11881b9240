package weights

import (
	"os"
	"path/filepath"
	"testing"
)

// The same 13 head tensors (7 MB) read from the official .pth and from the safetensors
// fixture: the ratio of the two is the cost of the PyTorch format.
func BenchmarkReadHead(b *testing.B) {
	dir, err := officialPath()
	if err != nil {
		b.Skip(err)
	}
	for _, c := range []struct {
		name, path string
		read       func(string) (*File, error)
	}{
		{"pth", filepath.Join(dir, "head_official.pth"), ReadPth},
		{"safetensors", filepath.Join("..", "testdata", "fixtures", "ideal-head-g8", "head.safetensors"), ReadSafetensors},
	} {
		b.Run(c.name, func(b *testing.B) {
			st, err := os.Stat(c.path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			for b.Loop() {
				if _, err := c.read(c.path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
