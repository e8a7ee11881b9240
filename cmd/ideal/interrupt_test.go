package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestIsTempName(t *testing.T) {
	for name, want := range map[string]bool{
		".metrics.json.tmp123456": true, ".ab12.safetensors.tmp9": true,
		"metrics.json": false, "x.tmp": false, ".hidden": false,
	} {
		if isTempName(name) != want {
			t.Errorf("isTempName(%q) = %v", name, !want)
		}
	}
}

// TestEvalSignal runs the real ideal binary and interrupts it with SIGINT once the
// first class is written: it must exit with status 130 leaving valid outputs, a
// consistent cache and no temporary files, and the rerun must finish from the cache
// with the metrics of an uninterrupted run. A second run gets two interrupts and must
// exit at once, still leaving no temporary file.
func TestEvalSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the ideal binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("os.Interrupt cannot be sent to another process on Windows")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ideal")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dataDir := filepath.Join(dir, "data")
	// Five classes: the interrupt, sent once the first is written, must come before
	// the last ends even on a busy machine.
	if rc := run([]string{"synth", "-q", "--out", dataDir, "--size", "112", "--classes", "fabric,wood,metal,nut,pill",
		"--train", "2", "--test", "6", "--per-defect", "1", "--seed", "5"}); rc != 0 {
		t.Fatalf("synth: exit status %d", rc)
	}
	headPath := filepath.Join(dir, "head.safetensors")
	if rc := run([]string{"init-head", "-o", headPath, "--channels", "48", "--seed", "2"}); rc != 0 {
		t.Fatalf("init-head: exit status %d", rc)
	}
	backbone, _ := filepath.Abs(tinyDir + "weights.safetensors")
	args := []string{"-q", "--data", dataDir, "--backbone", backbone, "--size", "112", "--head", headPath, "--overlays", "0"}
	evalCmd := func(out string) *exec.Cmd {
		return exec.Command(bin, append(append([]string{"eval"}, args...), "--out", out)...)
	}

	// interrupt starts ideal eval, sends n interrupts once the first class is written
	// (each after the previous one was acknowledged on stderr, as signals sent back to
	// back may merge) and returns the exit status and stderr.
	interrupt := func(out string, n int) (int, string) {
		cmd := evalCmd(out)
		stderr := &ackBuffer{ack: make(chan struct{}, 1)}
		cmd.Stderr = stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			if _, err := os.Stat(filepath.Join(out, "metrics.json")); err == nil {
				break
			}
			select {
			case err := <-done:
				t.Fatalf("ideal eval ended (%v) before its first class was written:\n%s", err, stderr)
			default:
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatal("no class written in 2 minutes")
			}
			time.Sleep(2 * time.Millisecond)
		}
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < n; i++ {
			select {
			case <-stderr.ack:
			case <-time.After(time.Minute):
				t.Fatal("the interrupt was not acknowledged")
			}
			// The run may have ended on the first interrupt before this one.
			if err := cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
				t.Fatal(err)
			}
		}
		<-done
		return cmd.ProcessState.ExitCode(), stderr.String()
	}

	out := filepath.Join(dir, "out")
	rc, stderr := interrupt(out, 1)
	if rc != 130 || !strings.Contains(stderr, "rerun the same command to resume") {
		t.Fatalf("exit status %d, want 130 (did the run end before the interrupt?); stderr:\n%s", rc, stderr)
	}
	t.Logf("stderr of the interrupted run:\n%s", stderr)
	rep := readEvalReport(t, out)
	if len(rep.Classes) == 0 || len(rep.Classes) == 5 {
		t.Errorf("the interrupted run wrote %d classes, want 1 to 4 of 5", len(rep.Classes))
	}
	checkEvalView(t, out, false)
	checkNoTempFiles(t, out)
	cached := checkCache(t, filepath.Join(out, "cache"))
	if cached < rep.CacheMiss {
		t.Errorf("%d cache entries, but the finished classes alone computed %d features", cached, rep.CacheMiss)
	}

	// Resume: the same command finishes, taking the features computed before from the cache.
	if b, err := evalCmd(out).CombinedOutput(); err != nil {
		t.Fatalf("rerun: %v\n%s", err, b)
	}
	resumed := readEvalReport(t, out)
	if resumed.CacheHits != cached || len(resumed.Classes) != 5 {
		t.Errorf("rerun: %d cache hits (want %d), %d classes", resumed.CacheHits, cached, len(resumed.Classes))
	}
	checkEvalView(t, out, false)
	whole := filepath.Join(dir, "whole")
	if err, _, _ := evalRun(t, append(args[1:], "--out", whole)...); err != nil {
		t.Fatal(err)
	}
	if ref := readEvalReport(t, whole); !reflect.DeepEqual(resumed.Classes, ref.Classes) {
		t.Errorf("resumed run %+v\nuninterrupted run %+v", resumed.Classes, ref.Classes)
	}

	// Two interrupts: exit at once, no temporary file left; what was written is valid.
	out2 := filepath.Join(dir, "out2")
	rc, stderr = interrupt(out2, 2)
	if rc != 130 {
		t.Fatalf("exit status %d, want 130; stderr:\n%s", rc, stderr)
	}
	if !strings.Contains(stderr, "interrupted again") {
		// Not a failure: the run finished its current image and ended before the
		// second signal came.
		t.Log("the run ended on the first interrupt, before the second")
	}
	t.Logf("stderr of the run interrupted twice:\n%s", stderr)
	// The outputs are one consistent set: as many classes in metrics.json as in
	// view.json, and the queries of view.json are those of scores.csv.
	if rep, view := readEvalReport(t, out2), checkEvalView(t, out2, false); len(rep.Classes) != len(view.Episodes) {
		t.Errorf("metrics.json holds %d classes, view.json %d", len(rep.Classes), len(view.Episodes))
	}
	checkNoTempFiles(t, out2)
	checkCache(t, filepath.Join(out2, "cache"))
}

// ackBuffer collects a child's stderr and signals ack at each interrupt acknowledgement.
type ackBuffer struct {
	mu  sync.Mutex
	b   bytes.Buffer
	ack chan struct{}
}

func (a *ackBuffer) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if bytes.Contains(p, []byte("stopping after the current image")) {
		select {
		case a.ack <- struct{}{}:
		default:
		}
	}
	return a.b.Write(p)
}

func (a *ackBuffer) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.b.String()
}
