package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeMetaFor writes a meta.json for the MVTec tree at root as the authors'
// gen_mvtec_json.py does (images and masks paired by sorted position).
func writeMetaFor(t *testing.T, root, file string) {
	t.Helper()
	type entry struct {
		ImgPath  string `json:"img_path"`
		MaskPath string `json:"mask_path"`
		ClsName  string `json:"cls_name"`
		Specie   string `json:"specie_name"`
		Anomaly  int    `json:"anomaly"`
	}
	info := map[string]map[string][]entry{"train": {}, "test": {}}
	for _, c := range readDirNames(t, root) {
		if st, err := os.Stat(filepath.Join(root, c)); err != nil || !st.IsDir() {
			continue
		}
		for phase := range info {
			es := []entry{}
			for _, sp := range readDirNames(t, filepath.Join(root, c, phase)) {
				var masks []string
				if sp != "good" {
					masks = readDirNames(t, filepath.Join(root, c, "ground_truth", sp))
				}
				for i, im := range readDirNames(t, filepath.Join(root, c, phase, sp)) {
					e := entry{ImgPath: c + "/" + phase + "/" + sp + "/" + im, ClsName: c, Specie: sp}
					if masks != nil {
						e.MaskPath, e.Anomaly = c+"/ground_truth/"+sp+"/"+masks[i], 1
					}
					es = append(es, e)
				}
			}
			info[phase][c] = es
		}
	}
	b, err := json.MarshalIndent(info, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEvalMetaRefsKeepRefsExclude: --format meta with --meta gives the numbers of
// --format mvtec; --refs takes the authors' download layout (REFROOT/MVTecAD/...),
// repeats a lone reference with a warning; --exclude and --keep-refs change the queries.
func TestEvalMetaRefsKeepRefsExclude(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "MVTecAD")
	if rc := run([]string{"synth", "-q", "--out", root, "--size", "112", "--classes", "fabric",
		"--train", "1", "--test", "3", "--per-defect", "1", "--seed", "5"}); rc != 0 {
		t.Fatalf("synth: exit status %d", rc)
	}
	meta := filepath.Join(dir, "meta.json")
	writeMetaFor(t, root, meta)
	refs := filepath.Join(dir, "fewshot_both_ref")
	copyTree(t, filepath.Join(root, "fabric", "test", "good"), filepath.Join(refs, "MVTecAD", "fabric", "normal"))
	os.Remove(filepath.Join(refs, "MVTecAD", "fabric", "normal", "000.png"))
	os.Remove(filepath.Join(refs, "MVTecAD", "fabric", "normal", "001.png")) // one reference left: 002.png
	exclude := filepath.Join(dir, "exclude.txt")
	if err := os.WriteFile(exclude, []byte("# the authors' draw\nfabric/test/good/001.png\n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"--data", root, "--backbone", tinyDir + "weights.safetensors", "--size", "112", "--a-shot", "0", "--n-shot", "2",
		"--refs", refs, "--cache", filepath.Join(dir, "cache")}
	runRep := func(args ...string) (string, []float64, int, bool, int) {
		out := filepath.Join(dir, strings.Join(args, "_"))
		err, _, stderr := evalRun(t, append(append(common, "--out", out), args...)...)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		rep := readEvalReport(t, out)
		c := rep.Classes[0]
		return stderr, []float64{float64(c.IAUROC), float64(c.PAUROC), float64(c.AUPRO)}, c.Images, rep.KeepRefs, rep.Excluded
	}
	stderr, metaNums, n, _, excluded := runRep("--format", "meta", "--meta", meta, "--exclude", exclude)
	if n != 3+6-2 || excluded != 1 || !strings.Contains(stderr, "warning: class fabric: the reference set has 1 normal image, 2 wanted") {
		t.Errorf("meta: %d queries, %d excluded; stderr:\n%s", n, excluded, stderr)
	}
	_, mvNums, _, _, _ := runRep("--format", "mvtec", "--exclude", exclude)
	if fmt.Sprint(metaNums) != fmt.Sprint(mvNums) {
		t.Errorf("meta %v, mvtec %v", metaNums, mvNums)
	}
	_, _, n, keep, _ := runRep("--format", "mvtec", "--keep-refs")
	if n != 9 || !keep {
		t.Errorf("--keep-refs: %d queries", n)
	}
}

func TestEvalMetaUsage(t *testing.T) {
	if rc := run([]string{"eval", "--data", "d", "--backbone", "b", "--out", "o", "--a-shot", "0", "--meta", "m.json"}); rc != 2 {
		t.Errorf("--meta without --format meta: exit status %d, want 2", rc)
	}
}
