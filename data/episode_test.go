package data

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// episodeTree: class c with 5 training images, 4 normal test images and the defect
// types crack (3 images), hole (2) and stain (1); class d with one of each.
func episodeTree(t *testing.T) (string, *Dataset) {
	t.Helper()
	files := []string{}
	for _, f := range []string{"0", "1", "2", "3", "4"} {
		files = append(files, "c/train/good/"+f+".png")
	}
	for _, f := range []string{"0", "1", "2", "3"} {
		files = append(files, "c/test/good/"+f+".png")
	}
	for typ, n := range map[string]int{"crack": 3, "hole": 2, "stain": 1} {
		for i := range n {
			f := string(rune('0' + i))
			files = append(files, "c/test/"+typ+"/"+f+".png", "c/ground_truth/"+typ+"/"+f+"_mask.png")
		}
	}
	files = append(files, "d/train/good/0.png", "d/test/good/0.png", "d/test/cut/0.png", "d/ground_truth/cut/0_mask.png")
	root := tree(t, files...)
	ds, err := Open(root, FormatMVTec, nil)
	if err != nil {
		t.Fatal(err)
	}
	return root, ds
}

func paths(ss []Sample) []string {
	var p []string
	for _, s := range ss {
		p = append(p, s.Path)
	}
	return p
}

func types(ss []Sample) []string {
	var p []string
	for _, s := range ss {
		p = append(p, s.DefectType)
	}
	return p
}

func TestEpisodeDrawn(t *testing.T) {
	_, ds := episodeTree(t)
	c := ds.Class("c")
	ep, err := NewEpisode(c, EpisodeOptions{NShot: 2, AShot: 3, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if len(ep.Normal) != 2 || ep.Normal[0].Path == ep.Normal[1].Path {
		t.Fatalf("normal refs %v", paths(ep.Normal))
	}
	for _, n := range ep.Normal {
		if n.Split != SplitTrain {
			t.Errorf("normal ref %s not from train", n.Path)
		}
	}
	tt := types(ep.Abnormal)
	slices.Sort(tt)
	if !slices.Equal(tt, []string{"crack", "hole", "stain"}) {
		t.Errorf("abnormal refs of types %q, want one of each", tt)
	}
	if len(ep.Queries) != len(c.Test)-3 || ep.Removed != 3 {
		t.Errorf("%d queries, %d removed; test has %d", len(ep.Queries), ep.Removed, len(c.Test))
	}
	for _, a := range ep.Abnormal {
		if slices.Contains(paths(ep.Queries), a.Path) || a.MaskPath == "" {
			t.Errorf("reference %s is a query or has no mask", a.Path)
		}
	}
	// Deterministic, and independent of the other classes read.
	one, err := Open(ds.Root, FormatMVTec, []string{"c"})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := NewEpisode(one.Class("c"), EpisodeOptions{NShot: 2, AShot: 3, Seed: 7})
	if !slices.Equal(paths(again.Normal), paths(ep.Normal)) || !slices.Equal(paths(again.Abnormal), paths(ep.Abnormal)) {
		t.Errorf("same seed, other draw: %v %v vs %v %v", paths(again.Normal), paths(again.Abnormal), paths(ep.Normal), paths(ep.Abnormal))
	}
	differs := false
	for seed := range uint64(10) {
		o, _ := NewEpisode(c, EpisodeOptions{NShot: 2, AShot: 3, Seed: 100 + seed})
		differs = differs || !slices.Equal(paths(o.Normal), paths(ep.Normal)) || !slices.Equal(paths(o.Abnormal), paths(ep.Abnormal))
	}
	if !differs {
		t.Error("ten other seeds all drew the same references")
	}
	// More shots than types: the fourth repeats a type, all distinct images.
	ep4, err := NewEpisode(c, EpisodeOptions{NShot: 1, AShot: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := paths(ep4.Abnormal)
	slices.Sort(p)
	if len(slices.Compact(p)) != 4 {
		t.Errorf("repeated abnormal references %v", paths(ep4.Abnormal))
	}
	tt = types(ep4.Abnormal)
	if len(tt) != 4 || len(slices.Compact(slices.Sorted(slices.Values(tt[:3])))) != 3 {
		t.Errorf("first three abnormal refs not of three types: %q", tt)
	}
}

func TestEpisodeHardAndDegenerate(t *testing.T) {
	_, ds := episodeTree(t)
	c := ds.Class("c")
	ep, err := NewEpisode(c, EpisodeOptions{NShot: 1, AShot: 1, Setting: Hard, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	seen := ep.Abnormal[0].DefectType
	for _, q := range ep.Queries {
		if q.Anomalous && q.DefectType == seen {
			t.Errorf("hard setting kept query %s of the seen type %s", q.Path, seen)
		}
	}
	n := 0
	for _, s := range c.Test {
		if s.DefectType == seen {
			n++
		}
	}
	if len(ep.Queries) != len(c.Test)-n || ep.Removed != n {
		t.Errorf("hard: %d queries %d removed, %d of type %s", len(ep.Queries), ep.Removed, n, seen)
	}
	all, _ := NewEpisode(c, EpisodeOptions{NShot: 1, AShot: 3, Setting: Hard, Seed: 3})
	for _, q := range all.Queries {
		if q.Anomalous {
			t.Errorf("hard with every type seen kept %s", q.Path)
		}
	}
	a0, err := NewEpisode(c, EpisodeOptions{NShot: 1, AShot: 0})
	if err != nil || len(a0.Abnormal) != 0 || len(a0.Queries) != len(c.Test) {
		t.Errorf("a=0: %v %+v", err, a0)
	}
	n0, err := NewEpisode(c, EpisodeOptions{NShot: 0, AShot: 2})
	if err != nil || len(n0.Normal) != 0 || len(n0.Queries) != len(c.Test)-2 {
		t.Errorf("n=0: %v %+v", err, n0)
	}
	for _, o := range []EpisodeOptions{{}, {NShot: -1, AShot: 1}, {NShot: 6, AShot: 1}, {NShot: 1, AShot: 7}, {NShot: 1, Setting: "easy"}} {
		if _, err := NewEpisode(c, o); err == nil || !strings.HasPrefix(err.Error(), "data: ") {
			t.Errorf("%+v: error %v", o, err)
		}
	}
}

func TestEpisodeFolderDrawsFromTestNormals(t *testing.T) {
	root := tree(t, "w/normal/a.png", "w/normal/b.png", "w/normal/c.png",
		"w/abnormal/dent/d.png", "w/masks/dent/d_mask.png")
	ds, err := Open(root, FormatFolder, nil)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := NewEpisode(&ds.Classes[0], EpisodeOptions{NShot: 2, AShot: 0, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(ep.Queries) != 2 || slices.Contains(paths(ep.Queries), ep.Normal[0].Path) || slices.Contains(paths(ep.Queries), ep.Normal[1].Path) {
		t.Errorf("queries %v refs %v", paths(ep.Queries), paths(ep.Normal))
	}
}

func copyFile(t *testing.T, src, dst string) {
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

func TestRefSet(t *testing.T) {
	root, ds := episodeTree(t)
	refs := t.TempDir()
	copyFile(t, filepath.Join(root, "c/train/good/3.png"), filepath.Join(refs, "MVTec/c/normal/n0.png"))
	copyFile(t, filepath.Join(root, "c/test/good/1.png"), filepath.Join(refs, "MVTec/c/normal/n1.png"))
	copyFile(t, filepath.Join(root, "c/test/hole/1.png"), filepath.Join(refs, "MVTec/c/abnormal/a0.png"))
	copyFile(t, filepath.Join(root, "c/ground_truth/hole/1_mask.png"), filepath.Join(refs, "MVTec/c/abnormal/a0_mask.png"))
	copyFile(t, filepath.Join(root, "d/test/cut/0.png"), filepath.Join(refs, "MVTec/d/abnormal/scratchy/x.png"))
	copyFile(t, filepath.Join(root, "d/ground_truth/cut/0_mask.png"), filepath.Join(refs, "MVTec/d/abnormal/scratchy/x_mask.png"))

	rs, err := ReadRefSet(refs, "mvtec")
	if err != nil {
		t.Fatal(err)
	}
	rc := rs["c"]
	if rc == nil || len(rc.Normal) != 2 || len(rc.Abnormal) != 1 || rc.Abnormal[0].DefectType != "" ||
		rc.Abnormal[0].MaskPath != filepath.Join(refs, "MVTec/c/abnormal/a0_mask.png") {
		t.Fatalf("refs of c: %+v", rc)
	}
	if rd := rs["d"]; rd == nil || len(rd.Abnormal) != 1 || rd.Abnormal[0].DefectType != "scratchy" {
		t.Fatalf("refs of d: %+v", rd)
	}
	// The class folder itself also works as the root.
	if rs2, err := ReadRefSet(filepath.Join(refs, "MVTec"), "mvtec"); err != nil || len(rs2) != 2 {
		t.Errorf("class folder as root: %v", err)
	}

	c := ds.Class("c")
	ep, err := NewEpisode(c, EpisodeOptions{NShot: 2, AShot: 1, Refs: rc, Setting: Hard})
	if err != nil {
		t.Fatal(err)
	}
	if ep.Abnormal[0].DefectType != "hole" {
		t.Errorf("defect type from the matching test image: %q", ep.Abnormal[0].DefectType)
	}
	// Removed: test/good/1 (a normal reference) and both hole images.
	if ep.Removed != 3 || len(ep.Queries) != len(c.Test)-3 {
		t.Errorf("removed %d, %d queries of %d", ep.Removed, len(ep.Queries), len(c.Test))
	}
	for _, q := range ep.Queries {
		if q.DefectType == "hole" || strings.HasSuffix(q.Path, filepath.Join("good", "1.png")) {
			t.Errorf("query %s should be gone", q.Path)
		}
	}
	gen, _ := NewEpisode(c, EpisodeOptions{NShot: 1, AShot: 1, Refs: rc})
	if gen.Removed != 1 || slices.Contains(paths(gen.Queries), filepath.Join(root, "c/test/hole/1.png")) {
		t.Errorf("general with fixed refs removed %d", gen.Removed)
	}
	// A reference that matches nothing has no defect type: fine in general, an error in hard.
	if _, err := NewEpisode(ds.Class("d"), EpisodeOptions{NShot: 0, AShot: 1, Refs: &Refs{Class: "d",
		Abnormal: []Sample{{Path: filepath.Join(root, "c/test/crack/0.png"), MaskPath: "m", Anomalous: true}}}, Setting: Hard}); err == nil ||
		!strings.Contains(err.Error(), "defect type") {
		t.Errorf("hard with unknown type: %v", err)
	}

	// Every class at once: d is in the reference set, c too; a missing class is an error.
	eps, err := Episodes(ds, rs, EpisodeOptions{NShot: 0, AShot: 1})
	if err != nil || len(eps) != 2 || eps[1].Abnormal[0].DefectType != "scratchy" {
		t.Errorf("episodes: %v %+v", err, eps)
	}
	delete(rs, "d")
	if _, err := Episodes(ds, rs, EpisodeOptions{NShot: 0, AShot: 1}); err == nil || !strings.Contains(err.Error(), "no class d") {
		t.Errorf("missing class: %v", err)
	}
	if eps, err := Episodes(ds, nil, EpisodeOptions{NShot: 1, AShot: 1, Seed: 2}); err != nil || len(eps) != 2 {
		t.Errorf("drawn episodes: %v", err)
	}

	// A missing mask beside an abnormal reference.
	os.Remove(filepath.Join(refs, "MVTec/c/abnormal/a0_mask.png"))
	if _, err := ReadRefSet(refs, "mvtec"); err == nil || !strings.Contains(err.Error(), "a0_mask.png") {
		t.Errorf("missing mask: %v", err)
	}
	if _, err := ReadRefSet(t.TempDir(), "mvtec"); err == nil || !strings.Contains(err.Error(), "expected") {
		t.Errorf("empty refset: %v", err)
	}
}

func TestSampler(t *testing.T) {
	_, ds := episodeTree(t)
	s1, err := NewSampler(ds, 1, 2, 42)
	if err != nil {
		t.Fatal(err)
	}
	if sk := s1.Skipped(); len(sk) != 1 || !strings.HasPrefix(sk[0], "d ") {
		t.Errorf("skipped %q", sk)
	}
	s2, _ := NewSampler(ds, 1, 2, 42)
	normalQ := 0
	const N = 2000
	for i := range N {
		e1, e2 := s1.Next(), s2.Next()
		if e1.Query.Path != e2.Query.Path || !slices.Equal(paths(e1.Normal), paths(e2.Normal)) || !slices.Equal(paths(e1.Abnormal), paths(e2.Abnormal)) {
			t.Fatalf("episode %d differs between samplers of one seed", i)
		}
		if e1.Class != "c" || len(e1.Normal) != 1 || len(e1.Abnormal) != 2 {
			t.Fatalf("episode %+v", e1)
		}
		if slices.Contains(append(paths(e1.Normal), paths(e1.Abnormal)...), e1.Query.Path) {
			t.Fatalf("query %s is a reference", e1.Query.Path)
		}
		if e1.Abnormal[0].DefectType == e1.Abnormal[1].DefectType {
			t.Fatalf("abnormal references of one type %q while three types exist", types(e1.Abnormal))
		}
		for _, r := range e1.Normal {
			if r.Split != SplitTest {
				t.Fatalf("normal reference %s not from the test split", r.Path)
			}
		}
		if !e1.Query.Anomalous {
			normalQ++
		}
	}
	// p = ½: 2000 draws, 5 standard deviations ≈ 112.
	if normalQ < N/2-112 || normalQ > N/2+112 {
		t.Errorf("%d normal queries of %d", normalQ, N)
	}
	s3, _ := NewSampler(ds, 1, 2, 43)
	same := true
	for range 20 {
		same = same && s3.Next().Query.Path == s2.Next().Query.Path
	}
	if same {
		t.Error("another seed gave the same 20 queries")
	}
	if _, err := NewSampler(ds, 10, 1, 1); err == nil || !strings.Contains(err.Error(), "no class") {
		t.Errorf("too many shots: %v", err)
	}
}

func TestEpisodeKeepRefsExcludeAndUnmatched(t *testing.T) {
	root, ds := episodeTree(t)
	c := ds.Class("c")
	refs := t.TempDir()
	copyFile(t, filepath.Join(root, "c/test/good/1.png"), filepath.Join(refs, "c/normal/n.png"))
	copyFile(t, filepath.Join(root, "c/test/hole/1.png"), filepath.Join(refs, "c/abnormal/a.png"))
	copyFile(t, filepath.Join(root, "c/ground_truth/hole/1_mask.png"), filepath.Join(refs, "c/abnormal/a_mask.png"))
	rs, err := ReadRefSet(refs)
	if err != nil {
		t.Fatal(err)
	}
	all := len(c.Test)
	ep, err := NewEpisode(c, EpisodeOptions{NShot: 1, AShot: 1, Refs: rs["c"]})
	if err != nil || ep.Removed != 2 || len(ep.Warnings) != 0 {
		t.Fatalf("default: %v %+v", err, ep)
	}
	// --keep-refs: the references stay among the queries.
	ep, err = NewEpisode(c, EpisodeOptions{NShot: 1, AShot: 1, Refs: rs["c"], KeepRefs: true})
	if err != nil || ep.Removed != 0 || len(ep.Queries) != all || ep.Abnormal[0].DefectType != "hole" {
		t.Errorf("keep refs: %v %+v", err, ep)
	}
	// --exclude: by absolute path, with the references kept.
	abs, _ := filepath.Abs(filepath.Join(root, "c/test/crack/2.png"))
	ep, err = NewEpisode(c, EpisodeOptions{NShot: 1, AShot: 1, Refs: rs["c"], KeepRefs: true, Exclude: map[string]bool{abs: true}})
	if err != nil || ep.Removed != 1 || slices.Contains(paths(ep.Queries), filepath.Join(root, "c/test/crack/2.png")) {
		t.Errorf("exclude: %v %+v", err, ep)
	}
	// Fewer references than wanted are repeated cyclically, with a warning.
	rep, err := NewEpisode(c, EpisodeOptions{NShot: 3, AShot: 2, Refs: rs["c"]})
	if err != nil || len(rep.Normal) != 3 || rep.Normal[2] != rep.Normal[0] || len(rep.Abnormal) != 2 || rep.Abnormal[1].DefectType != "hole" ||
		rep.Removed != 2 || len(rep.Warnings) != 2 || !strings.Contains(rep.Warnings[0], "1 normal image, 3 wanted: each is used 3 times (repeated cyclically") {
		t.Errorf("repeated references: %v %+v", err, rep)
	}
	if _, err := NewEpisode(c, EpisodeOptions{NShot: 1, AShot: 1, Refs: &Refs{Class: "c", Normal: rs["c"].Normal}}); err == nil ||
		!strings.Contains(err.Error(), "1 normal and 0 abnormal") {
		t.Errorf("no abnormal reference: %v", err)
	}
	// A reference that matches no test image: a warning (it used to be silent).
	os.WriteFile(filepath.Join(refs, "c/normal/n.png"), []byte("not a test image"), 0o644)
	ep, err = NewEpisode(c, EpisodeOptions{NShot: 1, AShot: 1, Refs: rs["c"]})
	if err != nil || ep.Removed != 1 || len(ep.Warnings) != 1 || !strings.Contains(ep.Warnings[0], "n.png matches no test or training image") {
		t.Errorf("unmatched: %v %+v", err, ep)
	}
}

// The authors' reference download names its folders MVTecAD, VisA, BTAD, MPDD,
// AITEX, BraTS, ...: each is found for its format or data set folder.
func TestRefSetNames(t *testing.T) {
	refs := t.TempDir()
	for _, d := range []string{"MVTecAD", "VisA", "BTAD", "MPDD", "AITEX", "BraTS", "Liver", "RESC"} {
		writePNG(t, refs, d+"/k_"+d+"/normal/0.png", false)
	}
	cases := []struct{ format, root, want string }{
		{FormatMVTec, "/d/mvtec_anomaly_detection", "MVTecAD"}, {FormatVisA, "/d/x", "VisA"}, {FormatBTAD, "/d/x", "BTAD"},
		{FormatMPDD, "/d/x", "MPDD"}, {FormatMeta, "/d/AITEX", "AITEX"}, {FormatMeta, "/d/brats/", "BraTS"},
		{FormatMeta, "/d/Liver", "Liver"}, {FormatMVTec, "/d/RESC", "RESC"}, {FormatMeta, "/d/MVTec-AD", "MVTecAD"},
	}
	for _, cs := range cases {
		rs, err := ReadRefSet(refs, RefSetNames(&Dataset{Root: cs.root, Format: cs.format})...)
		if err != nil || rs["k_"+cs.want] == nil {
			t.Errorf("%s %s: %v %v", cs.format, cs.root, err, rs)
		}
	}
	if _, err := ReadRefSet(refs, RefSetNames(&Dataset{Root: "/d/other", Format: FormatMeta})...); err == nil ||
		!strings.Contains(err.Error(), "one of other (ignoring case)") {
		t.Errorf("no match: %v", err)
	}
}
