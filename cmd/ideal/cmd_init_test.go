package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestInitSizesBounded: sizes that would allocate gigabytes (found while fuzzing the
// numeric flags: init-head with 2^20 channels and vectors, init-backbone at width 4096
// and depth 64, both died of out-of-memory) and a negative --heads are usage errors
// (status 2) and write nothing.
func TestInitSizesBounded(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.safetensors")
	for _, args := range [][]string{
		{"init-head", "-o", out, "--channels", "1048576", "--vectors", "1048576"},
		{"init-head", "-o", out, "--channels", "12"},
		{"init-head", "-o", out, "--vectors", "0"},
		{"init-backbone", "-o", out, "--width", "4096", "--depth", "64", "--heads", "64"},
		{"convert", "-o", out, "--heads", "-1", filepath.Join(dir, "missing.pth")},
		{"features", "-o", out, "--heads", "-1", "--backbone", filepath.Join(dir, "missing"), filepath.Join(dir, "missing.png")},
	} {
		if code := run(args); code != 2 {
			t.Errorf("ideal %q: status %d, want 2 (usage)", args, code)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("ideal %q wrote %s", args, out)
		}
	}
	// Allowed sizes still work (a ViT-S-wide head).
	if code := run([]string{"init-head", "-o", out, "--channels", "384", "--vectors", "4"}); code != 0 {
		t.Fatalf("init-head with allowed sizes: status %d", code)
	}
}
