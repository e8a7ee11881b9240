package imaging

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMaxPixels(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"", DefaultMaxPixels, true},
		{"400000000", 400_000_000, true},
		{" 91\n", 91, true},
		{"0", 0, false},
		{"-5", 0, false},
		{"1e9", 0, false},
		{"100M", 0, false},
		{"0x10", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, c := range cases {
		n, err := parseMaxPixels(c.in)
		switch {
		case c.ok && (err != nil || n != c.want):
			t.Errorf("parseMaxPixels(%q) = %d, %v; want %d", c.in, n, err, c.want)
		case !c.ok && (err == nil || !strings.Contains(err.Error(), "IDEAL_MAX_PIXELS=")):
			t.Errorf("parseMaxPixels(%q) = %d, %v; want an error naming the variable", c.in, n, err)
		}
	}
}

// TestMaxPixelsFromEnvironment runs this test binary again with IDEAL_MAX_PIXELS set,
// and MaxPixelsFromEnv reads it as a program's start-up does.
func TestMaxPixelsFromEnvironment(t *testing.T) {
	if env := os.Getenv("IMAGING_TEST_CHILD"); env != "" {
		err := MaxPixelsFromEnv()
		if err == nil {
			_, err = LoadRGB(filepath.Join("testdata", "decode", "rgb.png")) // 13×7 = 91 pixels
		}
		msg := "<nil>"
		if err != nil {
			msg = err.Error()
		}
		fmt.Printf("MaxPixels=%d err=%s\n", MaxPixels, msg)
		return
	}
	cases := []struct{ env, want string }{
		{"91", "MaxPixels=91 err=<nil>"},
		{"90", "13×7 = 91 pixels, more than the limit of 90 (set IDEAL_MAX_PIXELS to raise it)"},
		{"lots", `MaxPixels=100000000 err=imaging: IDEAL_MAX_PIXELS="lots" is not a positive whole number of pixels`},
	}
	for _, c := range cases {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMaxPixelsFromEnvironment$")
		cmd.Env = append(os.Environ(), "IMAGING_TEST_CHILD=1", MaxPixelsEnv+"="+c.env)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Errorf("IDEAL_MAX_PIXELS=%s: %v\n%s\nwant output containing %q", c.env, err, out, c.want)
		}
	}
}

// TestHugeHeadersRefusedBeforeAllocating feeds headers that claim 20000×20000 pixels
// (400 million, over the default limit) in every format, and files whose offsets point
// far beyond their end: each is refused with a clear error, having allocated next to
// nothing.
func TestHugeHeadersRefusedBeforeAllocating(t *testing.T) {
	defer func(old int64) { MaxPixels = old }(MaxPixels)
	MaxPixels = DefaultMaxPixels
	const huge = 20000
	cases := map[string]struct {
		data []byte
		want string
	}{
		"png":                   {pngHeader(huge, huge, 8, 2), "png image is 20000×20000 = 400000000 pixels, more than the limit"},
		"png 16-bit grey+alpha": {pngHeader(huge, huge, 16, 4), "more than the limit"},
		"png 2^31 wide":         {pngHeader(1<<31-1, 1<<31-1, 8, 0), "dimension overflow"},
		"bmp":                   {bmpHeader(huge, huge), "bmp image is 20000×20000"},
		"bmp top-down":          {bmpHeader(huge, -huge), "more than the limit"},
		"tiff":                  {tiffHeader(huge, huge), "tiff image is 20000×20000"},
		"gif":                   {gifHeader(65535, 65535), "more than the limit"},
		"jpeg":                  {jpegHeader(65535, 65535), "more than the limit"},
		"tiff IFD far past EOF": {[]byte("II*\x000000"), "truncated"},
	}
	dir := t.TempDir()
	for name, c := range cases {
		p := filepath.Join(dir, "x")
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		before := allocated()
		_, _, err := ImageSize(p)
		if got := allocated() - before; got > 256<<10 {
			t.Errorf("%s: ImageSize allocated %d bytes", name, got)
		}
		if name == "tiff IFD far past EOF" && err == nil {
			t.Errorf("%s: ImageSize gave no error", name)
		}
		before = allocated()
		_, err = DecodeRGB(c.data)
		got := allocated() - before
		if err == nil || !strings.HasPrefix(err.Error(), "imaging: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", name, err, c.want)
		}
		if got > 256<<10 {
			t.Errorf("%s: allocated %d bytes before refusing", name, got)
		}
	}
}
