package serve

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// profileFolder writes a profile folder of the fixture under dir/name; withMask false
// leaves the abnormal image's mask out.
func profileFolder(t *testing.T, dir, name string, withMask bool) {
	t.Helper()
	f := getFixture(t)
	p := filepath.Join(dir, name)
	for _, sub := range []string{"normal", "abnormal"} {
		if err := os.MkdirAll(filepath.Join(p, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string][]byte{"profile.json": []byte(specJSON), "normal/000.png": f.normal, "abnormal/000.png": f.abnormal}
	if withMask {
		files["abnormal/000_mask.png"] = f.mask
	}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(p, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestServeImportFolder imports a folder of profiles at start: the good one is served
// (scoring as an independent episode does) and stored; one without its mask is not.
func TestServeImportFolder(t *testing.T) {
	f := getFixture(t)
	dir, state := t.TempDir(), t.TempDir()
	profileFolder(t, dir, "fold", true)
	profileFolder(t, dir, "nomask", false)
	profileFolder(t, dir, "bad name!", true)
	_, base := start(t, Config{State: state, Profiles: dir})
	code, b := do(t, "GET", base+"/v1/profiles", "", nil)
	var list struct {
		Profiles []profileInfo `json:"profiles"`
	}
	if err := json.Unmarshal(b, &list); code != 200 || err != nil || len(list.Profiles) != 1 || list.Profiles[0].Name != "fold" {
		t.Fatalf("profiles: %d %s", code, b)
	}
	if p := list.Profiles[0]; p.Normal != 1 || p.Abnormal != 1 || p.Threshold != 0.5 {
		t.Fatalf("profile: %+v", p)
	}
	if got, want := mustInfer(t, base, "fold", f.query), expected(t, f, f.query); got != want {
		t.Fatalf("score %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(state, "profiles", "fold", "profile.json")); err != nil {
		t.Fatalf("not stored: %v", err)
	}
}

func mustInfer(t *testing.T, base, name string, q []byte) float32 {
	t.Helper()
	s, _ := infer(t, base, name, q)
	return s
}
