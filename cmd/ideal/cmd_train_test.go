package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/model/head"
	"github.com/ideal-fsad/ideal/train"
)

// TestTrainEndToEnd trains a head with the tiny backbone on a small synthetic data set:
// the loss goes down and ideal eval loads the head it writes.
func TestTrainEndToEnd(t *testing.T) {
	dir, dataDir, _ := evalFixture(t)
	out := filepath.Join(dir, "trained.safetensors")
	o, err := parseTrainFlags([]string{"-q", "--data", dataDir, "--backbone", tinyDir + "weights.safetensors", "--size", "112",
		"--out", out, "--epochs", "10", "--episodes", "16", "--batch", "4", "--lr", "1e-2", "--vectors", "8", "--seed", "3"})
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	hist, err := trainHead(o, &stdout, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", stdout.String())
	// Episodes differ from epoch to epoch: compare the first three epochs with the last three.
	mean3 := func(h []train.Losses) float64 { return (h[0].Total() + h[1].Total() + h[2].Total()) / 3 }
	if first, last := mean3(hist), mean3(hist[len(hist)-3:]); !(last < first) {
		t.Errorf("mean loss of the first three epochs %.4f, of the last three %.4f", first, last)
	}
	w, err := head.ReadFile(out, "")
	if err != nil {
		t.Fatal(err)
	}
	if w.M() != 8 || w.C() != 48 {
		t.Errorf("trained head: M = %d, C = %d", w.M(), w.C())
	}
	stdout2 := runEvalCapture(t, "--data", dataDir, "--backbone", tinyDir+"weights.safetensors", "--size", "112",
		"--head", out, "--a-shot", "1", "--out", filepath.Join(dir, "eval"), "--cache", o.cache, "--overlays", "0")
	if !strings.Contains(stdout2, "Mean") {
		t.Errorf("eval with the trained head:\n%s", stdout2)
	}
}

func TestTrainUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--data", "d", "--backbone", "b"},
		{"--data", "d", "--backbone", "b", "--out", "o", "--a-shot", "0"},
		{"--data", "d", "--backbone", "b", "--out", "o", "--batch", "0"},
		{"--data", "d", "--backbone", "b", "--out", "o", "--lr", "-1"},
		{"--data", "d", "--backbone", "b", "--out", "o", "--dropout", "1"},
		{"--data", "d", "--backbone", "b", "--out", "o", "extra"},
	} {
		if _, err := parseTrainFlags(args); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// TestTrainReproducible: the same seed gives the same head, byte for byte.
func TestTrainReproducible(t *testing.T) {
	dir, dataDir, _ := evalFixture(t)
	var files [2][]byte
	for i := range files {
		out := filepath.Join(dir, fmt.Sprintf("h%d.safetensors", i))
		o, err := parseTrainFlags([]string{"-q", "--data", dataDir, "--backbone", tinyDir + "weights.safetensors", "--size", "112",
			"--out", out, "--epochs", "2", "--episodes", "6", "--batch", "3", "--vectors", "8", "--seed", "9",
			"--cache", filepath.Join(dir, "cache")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := trainHead(o, io.Discard, io.Discard); err != nil {
			t.Fatal(err)
		}
		if files[i], err = os.ReadFile(out); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(files[0], files[1]) {
		t.Error("two runs with the same seed wrote different heads")
	}
}

// TestTrainResume: a 4-epoch run interrupted after epoch 2 and resumed from its
// checkpoint writes the same head, byte for byte, as the uninterrupted run.
func TestTrainResume(t *testing.T) {
	dir, dataDir, _ := evalFixture(t)
	args := func(out string, extra ...string) trainOptions {
		o, err := parseTrainFlags(append([]string{"-q", "--data", dataDir, "--backbone", tinyDir + "weights.safetensors", "--size", "112",
			"--out", out, "--epochs", "4", "--episodes", "4", "--batch", "3", "--vectors", "8", "--seed", "5",
			"--cache", filepath.Join(dir, "cache")}, extra...))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	full := filepath.Join(dir, "full.safetensors")
	if _, err := trainHead(args(full), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(dir, "part.safetensors")
	o := args(part)
	o.stopAfter = 2
	if h, err := trainHead(o, io.Discard, io.Discard); err != nil || len(h) != 2 {
		t.Fatalf("interrupted run: %d epochs, %v", len(h), err)
	}
	if h, err := trainHead(args(part, "--resume", part+".ckpt"), io.Discard, io.Discard); err != nil || len(h) != 2 {
		t.Fatalf("resumed run: %d epochs, %v", len(h), err)
	}
	a, _ := os.ReadFile(full)
	b, _ := os.ReadFile(part)
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("the resumed run wrote another head than the uninterrupted one")
	}
	a, _ = os.ReadFile(full + ".ckpt")
	b, _ = os.ReadFile(part + ".ckpt")
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("the resumed run wrote another checkpoint than the uninterrupted one")
	}
	// Other settings are refused.
	if _, err := trainHead(args(part, "--resume", part+".ckpt", "--lr", "2e-3"), io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "other settings") {
		t.Errorf("resume with another learning rate: %v", err)
	}
}

// TestTrainEval: --eval-data evaluates the head after every epoch with ideal eval's
// code and prints its table.
func TestTrainEval(t *testing.T) {
	dir, dataDir, _ := evalFixture(t)
	out := filepath.Join(dir, "h.safetensors")
	o, err := parseTrainFlags([]string{"-q", "--data", dataDir, "--backbone", tinyDir + "weights.safetensors", "--size", "112",
		"--out", out, "--epochs", "2", "--episodes", "3", "--batch", "3", "--vectors", "8", "--eval-data", dataDir, "--eval-setting", "hard"})
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	if _, err := trainHead(o, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stdout.String(), "Mean"); n != 2 {
		t.Errorf("%d tables printed, want 2:\n%s", n, stdout.String())
	}
	for _, e := range []string{"epoch-1", "epoch-2"} {
		if _, err := os.Stat(filepath.Join(out+".eval", e, "metrics.json")); err != nil {
			t.Error(err)
		}
	}
	if _, err := parseTrainFlags([]string{"--data", "d", "--backbone", "b", "--out", "o", "--eval-setting", "easy"}); err == nil {
		t.Error("--eval-setting easy accepted")
	}
}
