package eval_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/eval"
)

// --pro: both (the default) computes the authors' P-PRO beside AU-PRO and writes it
// in metrics.json (p_pro_authors) and as the last metrics.csv column; mvtec leaves
// it out; the existing columns keep their names and places.
func TestRunPRO(t *testing.T) {
	ds, det := fixture(t)
	for _, c := range []struct {
		pro     eval.PRO
		authors bool
	}{{"", true}, {eval.PROMVTec, false}, {eval.PROAuthors, true}} {
		dir := t.TempDir()
		rep, err := eval.Run(context.Background(), det, ds, eval.Options{NShot: 1, AShot: 1, Seed: 1, PRO: c.pro}, &eval.FileSink{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		for _, cr := range rep.Classes {
			if (cr.AuthorsPRO != nil) != c.authors || c.authors && !cr.AuthorsPRO.Defined() {
				t.Errorf("--pro %q: class %s authors' P-PRO %v", c.pro, cr.Class, cr.AuthorsPRO)
			}
		}
		csv, _ := os.ReadFile(filepath.Join(dir, "metrics.csv"))
		head := strings.SplitN(string(csv), "\n", 2)[0]
		wantHead := "class,I-AUROC,I-AP,I-F1max,P-AUROC,P-F1max,AU-PRO"
		if c.authors {
			wantHead += ",P-PRO (authors)"
		}
		if head != wantHead {
			t.Errorf("--pro %q: metrics.csv header %q, want %q", c.pro, head, wantHead)
		}
		raw, _ := os.ReadFile(filepath.Join(dir, "metrics.json"))
		var js map[string]any
		json.Unmarshal(raw, &js)
		_, has := js["mean"].(map[string]any)["p_pro_authors"]
		if has != c.authors || js["pro"] != string(rep.PRO) {
			t.Errorf("--pro %q: metrics.json p_pro_authors present %v, pro %v", c.pro, has, js["pro"])
		}
	}
	if _, err := eval.Run(context.Background(), det, ds, eval.Options{NShot: 1, AShot: 1, PRO: "exact"}, nil); err == nil {
		t.Error("--pro exact accepted")
	}
}
