package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ideal-fsad/ideal/data"
)

func TestSynthCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "syn")
	if rc := run([]string{"synth", "-q", "--out", out, "--size", "32", "--classes", "carpet,nut", "--train", "2", "--test", "1", "--per-defect", "1", "--seed", "3"}); rc != 0 {
		t.Fatalf("exit status %d", rc)
	}
	ds, err := data.Open(out, data.FormatMVTec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Classes) != 2 || len(ds.Classes[0].Train) != 2 || len(ds.Classes[1].Anomalous()) != 6 {
		t.Fatalf("data set %+v", ds.Classes)
	}
	for _, bad := range [][]string{
		{"synth"},                                 // no --out
		{"synth", "--out", out, "--size", "8"},    // too small
		{"synth", "--out", out, "--classes", "x"}, // unknown class
		{"synth", "--out", out, "--train", "0"},   // no training images
		{"synth", "--out", out, "--seed", "-1"},   // not a uint
		{"synth", "--out", out, "extra"},          // stray argument
	} {
		if rc := run(bad); rc != 2 {
			t.Errorf("%q: exit status %d, want 2", bad, rc)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "synth.json")); err != nil {
		t.Error(err)
	}
}
