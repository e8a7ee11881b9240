package eval_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/eval"
)

func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// queryPaths runs eval and returns the report and the query paths relative to the root.
func queryPaths(t *testing.T, opts eval.Options, ds *data.Dataset) (*eval.Report, []string, []string) {
	t.Helper()
	_, det := fixture(t)
	var warned []string
	opts.Warn = func(m string) { warned = append(warned, m) }
	rec := &recorder{}
	rep, err := eval.Run(context.Background(), det, ds, opts, rec)
	if err != nil {
		t.Fatal(err)
	}
	var qs []string
	for _, q := range rec.queries {
		r, _ := filepath.Rel(ds.Root, q.Sample.Path)
		qs = append(qs, filepath.ToSlash(r))
	}
	return rep, qs, warned
}

// The authors' reference download layout (REFROOT/<dataset>/<class>/...), references
// repeated and unmatched (warnings), --exclude and --keep-refs.
func TestRunRefsKeepRefsExclude(t *testing.T) {
	ds, _ := fixture(t)
	root := ds.Root
	refs := filepath.Join(t.TempDir(), "fewshot_both_ref", filepath.Base(root))
	copyTo(t, filepath.Join(root, "fabric/test/good/000.png"), filepath.Join(refs, "fabric/normal/good_000.png"))
	copyTo(t, filepath.Join(root, "fabric/test/hole/000.png"), filepath.Join(refs, "fabric/abnormal/hole_000.png"))
	copyTo(t, filepath.Join(root, "fabric/ground_truth/hole/000_mask.png"), filepath.Join(refs, "fabric/abnormal/hole_000_mask.png"))
	fabric, err := data.Open(root, data.FormatMVTec, []string{"fabric"})
	if err != nil {
		t.Fatal(err)
	}
	opts := eval.Options{NShot: 2, AShot: 1, Refs: filepath.Dir(refs), Exclude: []string{"fabric/test/good/001.png", "fabric/test/nope.png"}}
	rep, qs, warned := queryPaths(t, opts, fabric)
	if slices.Contains(qs, "fabric/test/good/000.png") || slices.Contains(qs, "fabric/test/hole/000.png") ||
		slices.Contains(qs, "fabric/test/good/001.png") || len(qs) != len(fabric.Classes[0].Test)-3 || rep.Excluded != 1 {
		t.Errorf("queries %q, excluded %d", qs, rep.Excluded)
	}
	if !slices.Equal(warned, rep.Warnings) || len(warned) != 2 || !strings.Contains(warned[0], "class fabric: the reference set has 1 normal image, 2 wanted") ||
		!strings.Contains(warned[1], "1 of the 2 images to exclude are no test image of the classes read (e.g. fabric/test/nope.png") {
		t.Errorf("warnings %q", warned)
	}
	// --keep-refs: the references are queries again (the released MVTec/MPDD protocol).
	opts = eval.Options{NShot: 1, AShot: 1, Refs: filepath.Dir(refs), KeepRefs: true}
	rep, qs, _ = queryPaths(t, opts, fabric)
	if len(qs) != len(fabric.Classes[0].Test) || !rep.KeepRefs || len(rep.Warnings) != 0 {
		t.Errorf("keep refs: %d queries, %+v", len(qs), rep)
	}
	// A reference that is no image of the data set: a warning.
	copyTo(t, filepath.Join(root, "nut/test/good/000.png"), filepath.Join(refs, "fabric/normal/good_000.png"))
	rep, qs, _ = queryPaths(t, eval.Options{NShot: 1, AShot: 1, Refs: filepath.Dir(refs)}, fabric)
	if len(qs) != len(fabric.Classes[0].Test)-1 || len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "good_000.png matches no test or training image") {
		t.Errorf("unmatched: %d queries, warnings %q", len(qs), rep.Warnings)
	}
}
