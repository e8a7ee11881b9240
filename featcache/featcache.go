// Package featcache is an on-disk cache of backbone patch features, so that a
// second evaluation with another head or shot count skips the backbone.
//
// An entry is keyed by the SHA-256 of the image file's bytes, the input side S
// and the backbone's identity (the SHA-256 of its weight file, see BackboneID):
// the features of an image depend on nothing else (package dinov2). Entries
// are safetensors files DIR/<k[:2]>/<k>.safetensors holding the tensor
// "features" [N, C] and the image's original size in the metadata; they are
// written atomically, so an interrupted run leaves no half-written entry.
// A file that cannot be read back is reported by Get, and the caller may
// recompute and Put it again.
package featcache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ideal-fsad/ideal/tensor"
	"github.com/ideal-fsad/ideal/weights"
)

// Entry is what the cache holds for one image at one size.
type Entry struct {
	Features *tensor.Dense // [N, C] patch features, row-major grid
	W, H     int           // the image's original size in pixels
}

// Cache is a feature cache in one folder for one backbone.
type Cache struct {
	dir      string
	backbone string
}

// New returns the cache in dir for the backbone with the given identity
// (BackboneID). The folder is created on the first Put.
func New(dir, backboneID string) *Cache {
	return &Cache{dir: dir, backbone: backboneID}
}

// BackboneID identifies a backbone by the SHA-256 of its weight file (hex).
func BackboneID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("featcache: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("featcache: %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Key is the cache key of an image's bytes at side size.
func (c *Cache) Key(image []byte, size int) string { return c.KeyOfHash(sha256.Sum256(image), size) }

// KeyOfHash is Key given the SHA-256 of the image's bytes (for a caller that has it).
func (c *Cache) KeyOfHash(img [32]byte, size int) string {
	h := sha256.New()
	fmt.Fprintf(h, "ideal-features-v1\x00%s\x00%d\x00%x", c.backbone, size, img)
	return hex.EncodeToString(h.Sum(nil))
}

func (c *Cache) path(key string) string {
	return filepath.Join(c.dir, key[:2], key+".safetensors")
}

// Get returns the entry for key; (nil, nil) when there is none. An entry that
// cannot be read or is malformed is an error.
func (c *Cache) Get(key string) (*Entry, error) {
	p := c.path(key)
	f, err := weights.ReadSafetensors(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("featcache: entry %s: %w", p, err)
	}
	t, ok := f.Tensors["features"]
	if !ok || len(t.Shape) != 2 || t.Shape[0] < 1 || t.Shape[1] < 1 {
		return nil, fmt.Errorf("featcache: entry %s has no [N C] tensor \"features\"", p)
	}
	w, errW := strconv.Atoi(f.Metadata["width"])
	h, errH := strconv.Atoi(f.Metadata["height"])
	if errW != nil || errH != nil || w < 1 || h < 1 {
		return nil, fmt.Errorf("featcache: entry %s has no valid image size in its metadata", p)
	}
	return &Entry{Features: t, W: w, H: h}, nil
}

// Put stores the entry for key (atomically).
func (c *Cache) Put(key string, e *Entry) error {
	if e == nil || e.Features == nil || len(e.Features.Shape) != 2 {
		panic("featcache: Put needs [N C] features")
	}
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("featcache: %w", err)
	}
	meta := map[string]string{"width": strconv.Itoa(e.W), "height": strconv.Itoa(e.H), "backbone_sha256": c.backbone}
	if err := weights.WriteSafetensors(p, map[string]*tensor.Dense{"features": e.Features}, meta); err != nil {
		return fmt.Errorf("featcache: %w", err)
	}
	return nil
}
