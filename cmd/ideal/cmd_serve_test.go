package main

import (
	"errors"
	"testing"
)

func TestServeUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--weights", dir},
		{"--state", dir},
		{"--state", dir, "--weights", dir, "--addr", "0.0.0.0:0"},
		{"--state", dir, "--weights", dir, "--addr", "0.0.0.0:0", "--public"},
		{"--state", dir, "--weights", dir, "--tls-cert", "x"},
		{"--state", dir, "--weights", dir, "extra"},
	} {
		if err := runServe(args); !errors.Is(err, errUsage) {
			t.Errorf("ideal serve %q: %v, want a usage error", args, err)
		}
	}
}
