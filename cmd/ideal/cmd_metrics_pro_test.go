package main

import (
	"strings"
	"testing"
)

// --pro picks the PRO columns of the table; --table authors adds the authors' table.
func TestMetricsCommandPRO(t *testing.T) {
	tr := makeMetricsTree(t)
	out, _, err := runMetricsForTest(t, "--data", tr.root, "--maps", tr.maps, "--pro", "mvtec")
	if err != nil {
		t.Fatal(err)
	}
	if head := strings.Split(out, "\n")[0]; !strings.HasSuffix(head, "AU-PRO@0.3 (MVTec)") || strings.Contains(out, "P-PRO") {
		t.Errorf("--pro mvtec:\n%s", out)
	}
	out, _, err = runMetricsForTest(t, "--data", tr.root, "--maps", tr.maps, "--pro", "authors", "--table", "authors")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasSuffix(lines[0], "P-PRO (authors)") || strings.Contains(lines[0], "AU-PRO") {
		t.Errorf("--pro authors header %q", lines[0])
	}
	i := strings.Index(out, "\nProduct              I-AUROC    I-AP       P-AUROC    P-PRO     \n")
	if i < 0 || !strings.Contains(out[i:], "\nalpha                0.8000     0.8222     0.7390     ") ||
		!strings.Contains(out[i:], "\ngamma                nan        nan        nan        nan       \n") {
		t.Errorf("--table authors: no table in their format:\n%s", out)
	}
	for _, args := range [][]string{{"--pro", "exact"}, {"--table", "theirs"}, {"--pro", "mvtec", "--table", "authors"}} {
		if _, err := parseMetricsFlags(append([]string{"--data", tr.root, "--maps", tr.maps}, args...)); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
