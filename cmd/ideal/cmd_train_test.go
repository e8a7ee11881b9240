package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ideal-fsad/ideal/data"
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
	rep, err := trainHead(context.Background(), o, &stdout, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	hist := rep.Epochs
	t.Logf("%s", stdout.String())
	// Episodes differ from epoch to epoch: compare the first three epochs with the last three.
	mean3 := func(h []train.Losses) float64 { return (h[0].Total() + h[1].Total() + h[2].Total()) / 3 }
	if first, last := mean3(hist), mean3(hist[len(hist)-3:]); !(last < first) {
		t.Errorf("mean loss of the first three epochs %.4f, of the last three %.4f", first, last)
	}
	w, err := head.Load(out, "")
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
	if _, err := trainHead(context.Background(), o, &stdout, io.Discard); err != nil {
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

// noTempFiles fails the test if dir holds a temporary file of an atomic write.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// TestTrainSignal runs the real binary: SIGINT after the first epoch's line makes it write
// a loadable checkpoint without temporary files, print the command to resume and exit
// with status 130; that command completes the run with the head and checkpoint of the
// uninterrupted run, byte for byte. Two SIGINTs in a row also exit 130 and leave
// complete files.
func TestTrainSignal(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT to send on Windows")
	}
	bin := buildIdealBinary(t)
	dir, dataDir, _ := evalFixture(t)
	args := func(out string) []string {
		return []string{"train", "-q", "--data", dataDir, "--backbone", tinyDir + "weights.safetensors", "--size", "112",
			"--out", out, "--epochs", "4", "--episodes", "60", "--batch", "2", "--vectors", "8", "--seed", "6",
			"--cache", filepath.Join(dir, "cache")}
	}
	full := filepath.Join(dir, "full.safetensors") // uninterrupted, in process; fills the feature cache
	o, err := parseTrainFlags(args(full)[1:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := trainHead(context.Background(), o, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	// interrupt runs the binary on args, sends n SIGINTs once it printed its first epoch
	// line, and returns its exit status and stderr.
	interrupt := func(args []string, n int) (int, string) {
		cmd := exec.Command(bin, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			lines := bufio.NewScanner(stdout)
			signalled := false
			for lines.Scan() {
				if !signalled && strings.HasPrefix(lines.Text(), "epoch 1/4") {
					for range n {
						cmd.Process.Signal(os.Interrupt)
					}
					signalled = true
				}
			}
			done <- cmd.Wait()
		}()
		select {
		case err := <-done:
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatal(err)
			}
			return cmd.ProcessState.ExitCode(), stderr.String()
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			t.Fatalf("ideal %s: still running after 2 minutes; stderr:\n%s", strings.Join(args, " "), stderr.String())
		}
		return 0, ""
	}

	partDir := filepath.Join(dir, "part")
	if err := os.Mkdir(partDir, 0o755); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(partDir, "part.safetensors")
	code, stderr := interrupt(args(part), 1)
	t.Logf("stderr of the interrupted run:\n%s", stderr)
	if code != 130 {
		t.Fatalf("exit status %d after SIGINT, want 130", code)
	}
	noTempFiles(t, partDir)
	ck, err := train.ReadCheckpoint(part + ".ckpt")
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch < 1 || ck.Epoch >= 4 {
		t.Errorf("checkpoint after %d epochs, want 1 to 3", ck.Epoch)
	}
	_, resume, ok := strings.Cut(stderr, "resume with:\n  ")
	resume, _, _ = strings.Cut(resume, "\n")
	words := strings.Fields(resume)
	if !ok || len(words) < 2 || words[0] != bin || strings.Contains(resume, "'") {
		t.Fatalf("no resume command (or one with quotes) on stderr: %q", resume)
	}
	cmd := exec.Command(words[0], words[1:]...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", resume, err, msg)
	}
	for _, suffix := range []string{"", ".ckpt"} {
		a, _ := os.ReadFile(full + suffix)
		b, _ := os.ReadFile(part + suffix)
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("the interrupted and resumed run wrote another %s than the uninterrupted run", "part.safetensors"+suffix)
		}
	}

	twice := filepath.Join(dir, "twice")
	if err := os.Mkdir(twice, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(twice, "h.safetensors")
	if code, stderr := interrupt(args(out), 2); code != 130 {
		t.Errorf("exit status %d after two SIGINTs, want 130; stderr:\n%s", code, stderr)
	}
	noTempFiles(t, twice)
	if _, err := train.ReadCheckpoint(out + ".ckpt"); err != nil {
		t.Error(err)
	}
	if _, err := head.Load(out, ""); err != nil {
		t.Error(err)
	}
}

func TestTrainResumeCommand(t *testing.T) {
	got := resumeCommand([]string{"-q", "--out", "my head.safetensors", "--resume", "old.ckpt", "-resume=x", "--lr", "1e-3"}, "it's.ckpt")
	want := os.Args[0] + ` train -q --out 'my head.safetensors' --lr 1e-3 --resume 'it'\''s.ckpt'`
	if strings.Contains(os.Args[0], "'") || strings.Contains(os.Args[0], " ") {
		t.Skip("the test binary's path needs quotes")
	}
	if got != want {
		t.Errorf("resume command\n%s\nwant\n%s", got, want)
	}
}

// TestTrainBadImage: an image that cannot be read, met in the middle of an epoch, is
// reported once on stderr with its path and the reason; with --stop-on-error the run
// stops there and says how to resume. Images left out when the data set is read (here a
// missing mask) are reported with their path. (Package train tests that the runs stay
// reproducible and resume exactly.)
func TestTrainBadImage(t *testing.T) {
	dir, dataDir, _ := evalFixture(t)
	args := func(out, cache string, extra ...string) trainOptions {
		o, err := parseTrainFlags(append([]string{"-q", "--data", dataDir, "--backbone", tinyDir + "weights.safetensors", "--size", "112",
			"--out", out, "--epochs", "2", "--episodes", "6", "--batch", "2", "--vectors", "8", "--seed", "5", "--cache", cache}, extra...))
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	o := args(filepath.Join(dir, "full.safetensors"), filepath.Join(dir, "cache-full"))
	// The query of the first episode of the second iteration whose images the first
	// iteration did not use: the run meets it after one finished iteration.
	ds, err := data.Open(dataDir, o.format, o.classes)
	if err != nil {
		t.Fatal(err)
	}
	sampler, err := data.NewSampler(ds, o.nShot, o.aShot, o.seed)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for range o.batch {
		ep := sampler.Next()
		for _, s := range append(append(ep.Normal, ep.Abnormal...), ep.Query) {
			used[s.Path] = true
		}
	}
	bad := sampler.Next().Query.Path
	if used[bad] {
		t.Skipf("the seed's second iteration starts with an image of the first (%s); pick another seed", bad)
	}
	orig, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, orig[:len(orig)/3], 0o644); err != nil { // a truncated PNG
		t.Fatal(err)
	}

	// Left out: reported once.
	var stderr bytes.Buffer
	if _, err := trainHead(context.Background(), args(filepath.Join(dir, "skipped.safetensors"), filepath.Join(dir, "cache-skip")), io.Discard, &stderr); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stderr.String(), "skipped "+bad+": "); n != 1 || !strings.Contains(stderr.String(), "corrupt png") {
		t.Errorf("the bad image reported %d times, want once with the reason:\n%s", n, stderr.String())
	}

	// --stop-on-error: stops with the work kept, and says how to go on.
	part := filepath.Join(dir, "part.safetensors")
	_, err = trainHead(context.Background(), args(part, filepath.Join(dir, "cache-part"), "--stop-on-error"), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "--resume "+part+".ckpt") ||
		strings.HasPrefix(err.Error(), "train: ") {
		t.Fatalf("a truncated image with --stop-on-error: %v; want its path and how to resume", err)
	}
	t.Logf("%v", err)
	if _, err := train.ReadCheckpoint(part + ".ckpt"); err != nil {
		t.Error(err)
	}
	if err := os.WriteFile(bad, orig, 0o644); err != nil { // fixed
		t.Fatal(err)
	}

	// A missing mask: the image is left out when the data set is read, and said.
	masks, _ := filepath.Glob(filepath.Join(dataDir, "*", "ground_truth", "*", "*_mask.png"))
	if len(masks) == 0 {
		t.Fatal("no masks in the synthetic data set")
	}
	if err := os.Remove(masks[0]); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if _, err := trainHead(context.Background(), args(filepath.Join(dir, "m.safetensors"), filepath.Join(dir, "cache-full"), "--epochs", "1"), io.Discard, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "skipped ") || !strings.Contains(stderr.String(), strings.TrimSuffix(filepath.Base(masks[0]), "_mask.png")) {
		t.Errorf("a missing mask was not reported:\n%s", stderr.String())
	}
}
