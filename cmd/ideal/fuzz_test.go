package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ideal-fsad/ideal/model/dinov2"
)

// numericFlag is one numeric flag of a subcommand, with the values its documentation
// allows. The fuzzer checks that every other value is refused as a usage error naming
// the flag, quickly and without allocating from the value.
type numericFlag struct {
	cmd, name string
	kind      byte // 'i' int, 'u' uint64, 'f' float64, 'd' time.Duration (valid sees seconds)
	// valid says whether a value is allowed; nil allows every value of the kind.
	valid func(v float64) bool
	// cheap says whether an allowed value may be run: the commands that write a model
	// or a data set do the work before writing, so large allowed values are not run.
	cheap func(v float64) bool
	// refusedAs, when set, is how the command refuses some out-of-range values instead
	// of a usage error naming the flag: a clear error from the model's own check, made
	// once the model is loaded (features --heads must divide the model's width). The
	// fuzzer still checks that these runs do not crash, hang or allocate from the value.
	refusedAs string
}

// The base arguments of each command name missing inputs or outputs in a missing
// folder, so that a run that gets past its flags fails at once with the sentinel.
const missingDir = "/nonexistent-ideal-fuzz"

var fuzzCommands = map[string]struct {
	args     []string
	sentinel string
}{
	"bench":         {[]string{"--backend", "nope"}, `unknown backend "nope"`},
	"convert":       {[]string{missingDir + "/in.pth", "-o", missingDir + "/out.safetensors"}, "no such file or directory"},
	"features":      {[]string{"--backbone", fixtureBackbone, "-o", missingDir + "/f.safetensors", missingDir + "/img.png"}, "no such file or directory"},
	"eval":          {[]string{"--data", missingDir, "--backbone", fixtureBackbone, "--head", missingDir + "/h", "--out", missingDir + "/eval"}, "no such file or directory"},
	"train":         {[]string{"--data", missingDir, "--backbone", fixtureBackbone, "--out", missingDir + "/train"}, "no such file or directory"},
	"score":         {[]string{"--backbone", fixtureBackbone, "--normal", missingDir + "/n.png", "--out", missingDir + "/s", missingDir + "/q.png"}, "no such file or directory"},
	"metrics":       {[]string{"--data", missingDir, "--maps", missingDir}, "no such file or directory"},
	"init-backbone": {[]string{"-o", missingDir + "/b.safetensors", "--width", "4", "--depth", "1", "--heads", "1", "--patch", "2", "--grid", "2"}, "no such file or directory"},
	"init-head":     {[]string{"-o", missingDir + "/h.safetensors", "--channels", "8", "--vectors", "2"}, "no such file or directory"},
	"synth":         {[]string{"--out", missingDir + "/synth", "--classes", "nope", "-q"}, `unknown class "nope"`},
	// A port that cannot be listened on: past its flags, serve fails at once.
	"serve": {[]string{"--state", missingDir + "/state", "--weights", missingDir + "/weights", "--addr", "127.0.0.1:99999"}, "invalid port"},
}

// fixtureBackbone is a tiny DINOv2 (patch 14, 350 kB), so that commands checking
// --size against the model's patch size do so quickly.
var fixtureBackbone, _ = filepath.Abs(filepath.Join("..", "..", "testdata", "fixtures", "dinov2-tiny", "weights.safetensors"))

func atLeast(lo float64) func(float64) bool { return func(v float64) bool { return v >= lo } }
func within(lo, hi float64) func(float64) bool {
	return func(v float64) bool { return v >= lo && v <= hi }
}
func positiveMultiple(p float64) func(float64) bool {
	return func(v float64) bool { return v > 0 && math.Mod(v, p) == 0 }
}

// modelSize is the --size check of the commands that load the backbone before opening
// their images: a positive multiple of the patch size (14), at most MaxGrid patches.
func modelSize(v float64) bool { return positiveMultiple(14)(v) && v <= 14*dinov2.MaxGrid }

// numericFlags are all numeric flags of all subcommands (TestNumericFlagsListed checks
// that none is missing).
var numericFlags = []numericFlag{
	{cmd: "bench", name: "size", kind: 'i', valid: positiveMultiple(14)},
	{cmd: "bench", name: "reps", kind: 'i', valid: atLeast(1)},
	{cmd: "bench", name: "browser-timeout", kind: 'd', valid: func(v float64) bool { return v > 0 }},
	{cmd: "convert", name: "heads", kind: 'i', valid: atLeast(0)},
	{cmd: "features", name: "size", kind: 'i', valid: modelSize},
	// 0 reads the heads from the model; others must divide the fixture's width, 48.
	{cmd: "features", name: "heads", kind: 'i', valid: func(v float64) bool { return v == 0 || v > 0 && math.Mod(48, v) == 0 },
		refusedAs: "dinov2: "},
	{cmd: "eval", name: "n-shot", kind: 'i', valid: atLeast(0)},
	{cmd: "eval", name: "a-shot", kind: 'i', valid: atLeast(0)},
	{cmd: "eval", name: "size", kind: 'i', valid: atLeast(1)},
	{cmd: "eval", name: "seed", kind: 'u'},
	{cmd: "eval", name: "overlays", kind: 'i', valid: atLeast(0)},
	{cmd: "train", name: "epochs", kind: 'i', valid: atLeast(1)},
	{cmd: "train", name: "episodes", kind: 'i', valid: atLeast(1)},
	{cmd: "train", name: "batch", kind: 'i', valid: atLeast(1)},
	{cmd: "train", name: "n-shot", kind: 'i', valid: atLeast(0)},
	{cmd: "train", name: "a-shot", kind: 'i', valid: atLeast(1)},
	{cmd: "train", name: "size", kind: 'i', valid: atLeast(1)},
	{cmd: "train", name: "vectors", kind: 'i', valid: atLeast(1)},
	{cmd: "train", name: "lr", kind: 'f', valid: func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }},
	{cmd: "train", name: "dropout", kind: 'f', valid: func(v float64) bool { return v >= 0 && v < 1 }},
	{cmd: "train", name: "seed", kind: 'u'},
	{cmd: "score", name: "size", kind: 'i', valid: modelSize},
	{cmd: "metrics", name: "pro-limit", kind: 'f', valid: func(v float64) bool { return v > 0 && v <= 1 }},
	{cmd: "init-backbone", name: "seed", kind: 'u'},
	{cmd: "init-backbone", name: "width", kind: 'i', valid: within(1, 4096), cheap: within(1, 64)},
	{cmd: "init-backbone", name: "depth", kind: 'i', valid: within(1, 64), cheap: within(1, 4)},
	{cmd: "init-backbone", name: "heads", kind: 'i', valid: func(v float64) bool { return v == 1 || v == 2 || v == 4 }}, // --width 4
	{cmd: "init-backbone", name: "patch", kind: 'i', valid: within(1, 64), cheap: within(1, 16)},
	{cmd: "init-backbone", name: "grid", kind: 'i', valid: within(1, 256), cheap: within(1, 16)},
	{cmd: "init-head", name: "channels", kind: 'i', valid: func(v float64) bool { return within(8, 4096)(v) && math.Mod(v, 8) == 0 }, cheap: within(8, 512)},
	{cmd: "init-head", name: "vectors", kind: 'i', valid: within(1, 4096), cheap: within(1, 512)},
	{cmd: "init-head", name: "seed", kind: 'u'},
	{cmd: "synth", name: "seed", kind: 'u'},
	{cmd: "synth", name: "size", kind: 'i', valid: within(32, 4096)},
	{cmd: "synth", name: "train", kind: 'i', valid: within(1, 10000)},
	{cmd: "synth", name: "test", kind: 'i', valid: within(1, 10000)},
	{cmd: "synth", name: "per-defect", kind: 'i', valid: within(1, 10000)},
	{cmd: "serve", name: "max-parallel", kind: 'i', valid: within(1, 1024)},
	{cmd: "serve", name: "queue", kind: 'i', valid: within(0, 1<<20)},
	{cmd: "serve", name: "timeout", kind: 'd', valid: func(v float64) bool { return v > 0 }},
}

// childEnv names the variable that makes the test binary run one command line (a JSON
// list) under a memory limit instead of the tests; see TestMain.
const childEnv = "IDEAL_FUZZ_CHILD_ARGS"

// childMemory bounds the address space of a child run: a command that tries to
// allocate from an absurd flag value dies with "out of memory" instead of swapping.
const childMemory = 3 << 30

func TestMain(m *testing.M) {
	if js := os.Getenv(childEnv); js != "" {
		var args []string
		if err := json.Unmarshal([]byte(js), &args); err != nil {
			fmt.Fprintln(os.Stderr, "bad", childEnv, err)
			os.Exit(100)
		}
		// One reading of VmSize for both: two could differ (the runtime maps and unmaps
		// memory meanwhile), and a soft limit above the hard one is EINVAL.
		n := childMemory + vmSize()
		lim := syscall.Rlimit{Cur: n, Max: n}
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &lim); err != nil {
			fmt.Fprintln(os.Stderr, "setrlimit:", err)
			os.Exit(100)
		}
		if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
			os.Stdout = null // keep the commands' tables out of the way
		}
		code := run(args)
		fmt.Fprintf(os.Stderr, "\nideal-exit-status %d\n", code)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// vmSize is this process's virtual memory size in bytes (VmSize in /proc/self/status).
func vmSize() uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmSize:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 1 << 30
}

// runChild runs one command line in a child process and returns its exit status and
// stderr; it fails the test when the child crashes or runs longer than limit.
func runChild(t *testing.T, args []string, limit time.Duration) (int, string) {
	t.Helper()
	js, _ := json.Marshal(args)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(js), "IDEAL_MAX_PIXELS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	out := stderr.String()
	if ctx.Err() != nil {
		t.Fatalf("ideal %q still running after %v", args, time.Since(start))
	}
	i := strings.LastIndex(out, "\nideal-exit-status ")
	if err != nil || i < 0 || strings.Contains(out, "panic:") || strings.Contains(out, "fatal error:") {
		t.Fatalf("ideal %q crashed (%v):\n%s", args, err, out)
	}
	code, _ := strconv.Atoi(strings.TrimSpace(out[i+len("\nideal-exit-status "):]))
	return code, out[:i]
}

// parseLike parses s as the flag package parses a flag of the kind.
func parseLike(kind byte, s string) (float64, error) {
	switch kind {
	case 'i':
		v, err := strconv.ParseInt(s, 0, strconv.IntSize)
		return float64(v), err
	case 'u':
		v, err := strconv.ParseUint(s, 0, 64)
		return float64(v), err
	case 'd':
		v, err := time.ParseDuration(s)
		return v.Seconds(), err
	}
	return strconv.ParseFloat(s, 64)
}

// FuzzNumericFlags gives every numeric flag of every subcommand arbitrary strings.
// A value the flag package cannot parse must be refused naming the flag; a parsed
// value outside the documented range must be a usage error (exit status 2) naming
// the flag, given before any input is opened; an allowed value must get past the
// flags to the missing input (the command's sentinel error). No run may crash, hang
// or exceed childMemory.
func FuzzNumericFlags(f *testing.F) {
	// Two values a flag keep the seed run (one child process each) to a few seconds;
	// the files in testdata/fuzz/FuzzNumericFlags add the rest.
	values := []string{"NaN", "-1", "0", "1e309", "Inf", "448", "0x10", "99999999999999999999", "1.5",
		"-9223372036854775808", "", "1", "2147483648", " 1", "0.3", "4096", "1_0", "14"}
	for i := range numericFlags {
		f.Add(uint8(i), values[(2*i)%len(values)])
		f.Add(uint8(i), values[(2*i+1)%len(values)])
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		if strings.ContainsRune(value, 0) {
			return // not a possible command-line argument
		}
		fl := numericFlags[int(which)%len(numericFlags)]
		base := fuzzCommands[fl.cmd]
		// The flag goes last, after the base arguments' small model sizes it overrides.
		args := append(append([]string{fl.cmd}, base.args...), "--"+fl.name+"="+value)
		v, perr := parseLike(fl.kind, value)
		valid := perr == nil && (fl.valid == nil || fl.valid(v))
		if valid && fl.cheap != nil && !fl.cheap(v) {
			return // allowed, and real work: see numericFlag.cheap
		}
		code, stderr := runChild(t, args, 20*time.Second)
		switch {
		case perr != nil:
			if code == 0 || !strings.Contains(stderr, "-"+fl.name) {
				t.Fatalf("ideal %q: unparsable value accepted (status %d):\n%s", args, code, stderr)
			}
		case !valid && fl.refusedAs != "" && code == 1 && strings.Contains(stderr, fl.refusedAs):
		case !valid:
			if code != 2 || !strings.Contains(stderr, "-"+fl.name) {
				t.Fatalf("ideal %q: out-of-range value not refused as a usage error naming --%s (status %d):\n%s",
					args, fl.name, code, stderr)
			}
		default:
			if !strings.Contains(stderr, base.sentinel) {
				t.Fatalf("ideal %q: allowed value did not reach the missing input (status %d, want %q):\n%s",
					args, code, base.sentinel, stderr)
			}
		}
	})
}

// TestNumericFlagsListed checks that numericFlags covers every int, uint and float
// flag of every registered command: each command's -h lists its flags with their
// types.
func TestNumericFlagsListed(t *testing.T) {
	listed := map[string]bool{}
	for _, fl := range numericFlags {
		listed[fl.cmd+" --"+fl.name] = true
	}
	for name := range commands {
		var help bytes.Buffer
		old := os.Stderr
		r, w, _ := os.Pipe()
		os.Stderr = w
		done := make(chan struct{})
		go func() { io.Copy(&help, r); close(done) }()
		commands[name].run([]string{"-h"})
		w.Close()
		<-done
		os.Stderr = old
		for _, line := range strings.Split(help.String(), "\n") {
			fields := strings.Fields(line)
			if len(fields) < 2 || !strings.HasPrefix(fields[0], "-") {
				continue
			}
			switch fields[1] {
			case "int", "uint", "uint64", "float", "int64", "duration":
				if key := name + " -" + fields[0]; !listed[key] {
					t.Errorf("numeric flag %s (%s) is not in numericFlags", key, fields[1])
				}
				if _, ok := fuzzCommands[name]; !ok {
					t.Errorf("command %s has numeric flags but no base arguments in fuzzCommands", name)
				}
			}
		}
	}
}
