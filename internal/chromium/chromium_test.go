package chromium

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestPathFromEnv(t *testing.T) {
	t.Setenv("IDEAL_CHROMIUM", "/nonexistent/chromium-for-the-test")
	if _, err := Path(); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "IDEAL_CHROMIUM") {
		t.Fatalf("a missing $IDEAL_CHROMIUM: %v, want ErrNotFound naming the variable", err)
	}
	t.Setenv("IDEAL_CHROMIUM", "sh") // any executable on $PATH
	if p, err := Path(); err != nil || !strings.HasSuffix(p, "sh") {
		t.Fatalf("IDEAL_CHROMIUM=sh: %q, %v", p, err)
	}
}

func TestOptions(t *testing.T) {
	if n, m := len(Options("x", "/tmp/p")), len(Options("x", "/tmp/p", nil, nil)); m != n+2 {
		t.Fatalf("extra options not appended: %d then %d", n, m)
	}
}

func TestWebGPUFlags(t *testing.T) {
	t.Setenv("IDEAL_CHROMIUM_GPU", "")
	t.Setenv("IDEAL_CHROMIUM_FLAGS", "")
	if f := webgpuFlags(); len(f) != 1 || f[0] != (flag{"enable-unsafe-webgpu", true}) {
		t.Fatalf("default: %v, want only --enable-unsafe-webgpu", f)
	}
	t.Setenv("IDEAL_CHROMIUM_GPU", "1")
	t.Setenv("IDEAL_CHROMIUM_FLAGS", "--ignore-gpu-blocklist  --use-vulkan=native")
	f := webgpuFlags()
	want := []flag{{"enable-unsafe-webgpu", true}, {"disable-gpu", false}, {"enable-features", "Vulkan"},
		{"use-angle", "vulkan"}, {"ignore-gpu-blocklist", true}, {"use-vulkan", "native"}}
	if !slices.Equal(f, want) {
		t.Fatalf("IDEAL_CHROMIUM_GPU=1 with flags: %v, want %v", f, want)
	}
	if len(WebGPU()) != len(want) {
		t.Fatalf("WebGPU() has %d options, want %d", len(WebGPU()), len(want))
	}
}
