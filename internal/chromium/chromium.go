// Package chromium finds headless Chromium and gives the flags every tool of the
// project starts it with (the browser tests, internal/wasmbrowser, 'ideal bench
// --browser'), so they all run the browser the same way.
package chromium

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/chromedp/chromedp"
)

// ErrNotFound is wrapped by Path's error on a machine without Chromium.
var ErrNotFound = errors.New("chromium: not found")

// candidates are tried, in order, after $IDEAL_CHROMIUM.
var candidates = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Path returns the Chromium executable to run: $IDEAL_CHROMIUM when set, else
// /usr/bin/chromium (Debian's chromium package, which 'make deps' installs), else the
// first of chromium, chromium-browser, google-chrome and google-chrome-stable found in
// $PATH. The error wraps ErrNotFound and says how to install it.
func Path() (string, error) {
	if p := os.Getenv("IDEAL_CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("%w: IDEAL_CHROMIUM=%s: %v", ErrNotFound, p, err)
		}
		return p, nil
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: tried $IDEAL_CHROMIUM, %s (install Debian's chromium package: make deps)",
		ErrNotFound, strings.Join(candidates, ", "))
}

// Options are the flags of headless Chromium run from executable exe with the
// throw-away profile directory profile: no sandbox (containers), no GPU, nothing
// fetched or synced in the background, no throttling of background tabs; extra are
// added after them (e.g. chromedp.Flag("enable-unsafe-webgpu", true)).
func Options(exe, profile string, extra ...chromedp.ExecAllocatorOption) []chromedp.ExecAllocatorOption {
	return append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(profile),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
	}, extra...)
}

// WebGPU are the extra flags that give pages a WebGPU adapter: --enable-unsafe-webgpu
// (Chromium on Linux keeps WebGPU behind it). With the no-GPU flags of Options that
// adapter is SwiftShader's, on the CPU: right for parity tests, and slow. With
// IDEAL_CHROMIUM_GPU=1 the browser may use the machine's GPU instead (no
// --disable-gpu; Vulkan enabled, --use-angle=vulkan), which is how to time WebGPU on
// real hardware; IDEAL_CHROMIUM_FLAGS adds further space-separated "--name[=value]"
// switches (e.g. --ignore-gpu-blocklist).
func WebGPU() []chromedp.ExecAllocatorOption {
	var opts []chromedp.ExecAllocatorOption
	for _, f := range webgpuFlags() {
		opts = append(opts, chromedp.Flag(f.name, f.value))
	}
	return opts
}

// flag is one Chromium switch: value true for a bare --name, false to remove it, or
// a string for --name=value.
type flag struct {
	name  string
	value any
}

// webgpuFlags are WebGPU's switches, in order (a later one overrides an earlier one).
func webgpuFlags() []flag {
	flags := []flag{{"enable-unsafe-webgpu", true}}
	if os.Getenv("IDEAL_CHROMIUM_GPU") == "1" {
		flags = append(flags, flag{"disable-gpu", false}, flag{"enable-features", "Vulkan"}, flag{"use-angle", "vulkan"})
	}
	for _, f := range strings.Fields(os.Getenv("IDEAL_CHROMIUM_FLAGS")) {
		name, value, hasValue := strings.Cut(strings.TrimLeft(f, "-"), "=")
		if hasValue {
			flags = append(flags, flag{name, value})
		} else {
			flags = append(flags, flag{name, true})
		}
	}
	return flags
}
