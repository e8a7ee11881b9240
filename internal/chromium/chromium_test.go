package chromium

import (
	"errors"
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
