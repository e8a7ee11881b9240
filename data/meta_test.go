package data

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/data/synth"
)

// writeMetaJSON writes root/meta.json as the authors' dataset/gen_*_json.py do: per
// class and phase the species folders (in reverse order here, as os.listdir may give
// them), the sorted images of each, and for anomalous species (all but normal) the
// sorted files of ground_truth/<specie> paired by position.
func writeMetaJSON(t *testing.T, root, normal string, classes ...string) {
	t.Helper()
	type entry struct {
		ImgPath  string `json:"img_path"`
		MaskPath string `json:"mask_path"`
		ClsName  string `json:"cls_name"`
		Specie   string `json:"specie_name"`
		Anomaly  int    `json:"anomaly"`
	}
	names := func(dir string) []string {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			out = append(out, e.Name())
		}
		return out // sorted, as the generators sort them
	}
	info := map[string]map[string][]entry{"train": {}, "test": {}}
	for _, c := range classes {
		for _, phase := range []string{"train", "test"} {
			cls := []entry{}
			species := names(filepath.Join(root, c, phase))
			slices.Reverse(species)
			for _, sp := range species {
				imgs := names(filepath.Join(root, c, phase, sp))
				var masks []string
				if sp != normal {
					masks = names(filepath.Join(root, c, "ground_truth", sp))
				}
				for i, im := range imgs {
					e := entry{ImgPath: c + "/" + phase + "/" + sp + "/" + im, ClsName: c, Specie: sp}
					if sp != normal {
						e.MaskPath, e.Anomaly = c+"/ground_truth/"+sp+"/"+masks[i], 1
					}
					cls = append(cls, e)
				}
			}
			info[phase][c] = cls
		}
	}
	b, err := json.MarshalIndent(info, "", "    ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, MetaFile), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The layouts of the paper's other data sets as the authors' generators describe them
// (<class>/{train,test}/<specie>/, <class>/ground_truth/<specie>/, masks paired with
// the sorted images by sorted position), with mask names that are not the images'.
var metaLayouts = []struct {
	name, class, format string
	files               []string
	anomalies           map[string]string // image → its mask, relative to the class
}{
	{"AITEX", "fabric", FormatMVTec, []string{
		"train/good/0001_000_00.png", "train/good/0002_000_00.png", "test/good/0003_000_00.png",
		"test/002/0044_002_01.png", "test/002/0097_002_04.png", "ground_truth/002/0044_002_01_mask.png", "ground_truth/002/0097_002_04_mask.png",
		"test/019/0010_019_02.png", "ground_truth/019/0010_019_02_mask.png"},
		map[string]string{"test/002/0044_002_01.png": "ground_truth/002/0044_002_01_mask.png",
			"test/002/0097_002_04.png": "ground_truth/002/0097_002_04_mask.png", "test/019/0010_019_02.png": "ground_truth/019/0010_019_02_mask.png"}},
	{"BraTS", "brain", FormatMVTec, []string{
		"train/good/00000_60.png", "test/good/00002_61.png", "test/good/00004_70.png",
		"test/Ungood/00003_74.png", "test/Ungood/00005_80.png", "test/Ungood/00011_66.png",
		"ground_truth/Ungood/seg_00003_74.png", "ground_truth/Ungood/seg_00005_80.png", "ground_truth/Ungood/seg_00011_66.png"},
		map[string]string{"test/Ungood/00003_74.png": "ground_truth/Ungood/seg_00003_74.png",
			"test/Ungood/00005_80.png": "ground_truth/Ungood/seg_00005_80.png", "test/Ungood/00011_66.png": "ground_truth/Ungood/seg_00011_66.png"}},
	{"Liver", "liver", FormatMVTec, []string{
		"train/good/liver_0_0001.png", "test/good/liver_3_0040.png",
		"test/Ungood/liver_12_0041.png", "test/Ungood/liver_12_0042.png",
		"ground_truth/Ungood/label_12_0041.png", "ground_truth/Ungood/label_12_0042.png"},
		map[string]string{"test/Ungood/liver_12_0041.png": "ground_truth/Ungood/label_12_0041.png",
			"test/Ungood/liver_12_0042.png": "ground_truth/Ungood/label_12_0042.png"}},
	{"RESC", "eye", FormatMVTec, []string{
		"train/good/0001.png", "test/good/0100.png", "test/good/0101.png",
		"test/Ungood/a_0200.png", "test/Ungood/b_0017.png", "ground_truth/Ungood/0200.png", "ground_truth/Ungood/0999.png"},
		map[string]string{"test/Ungood/a_0200.png": "ground_truth/Ungood/0200.png", "test/Ungood/b_0017.png": "ground_truth/Ungood/0999.png"}},
	{"BTAD", "01", FormatBTAD, []string{
		"train/ok/0000.bmp", "test/ok/0001.bmp", "test/ko/0002.bmp", "test/ko/0003.bmp",
		"ground_truth/ko/0002.png", "ground_truth/ko/0003.png"},
		map[string]string{"test/ko/0002.bmp": "ground_truth/ko/0002.png", "test/ko/0003.bmp": "ground_truth/ko/0003.png"}},
}

func TestOpenMetaLayouts(t *testing.T) {
	for _, l := range metaLayouts {
		t.Run(l.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), l.name)
			normal := "good"
			if l.format == FormatBTAD {
				normal = "ok"
			}
			for _, f := range l.files {
				writePNG(t, root, l.class+"/"+f, strings.HasPrefix(f, "ground_truth"))
			}
			writeMetaJSON(t, root, normal, l.class)
			ds, err := Open(root, FormatMeta, nil)
			if err != nil {
				t.Fatal(err)
			}
			c := ds.Class(l.class)
			if c == nil || len(ds.Classes) != 1 || len(c.Problems) != 0 || len(c.Train) == 0 {
				t.Fatalf("classes %+v", ds.Classes)
			}
			got := map[string]string{}
			cdir := filepath.Join(root, l.class)
			for _, s := range c.Anomalous() {
				r := func(p string) string { q, _ := filepath.Rel(cdir, p); return filepath.ToSlash(q) }
				got[r(s.Path)] = r(s.MaskPath)
				if want := strings.Split(r(s.Path), "/")[1]; s.DefectType != want || s.Key != "test/"+want+"/"+stem(s.Path) {
					t.Errorf("%s: type %q key %q", s.Path, s.DefectType, s.Key)
				}
			}
			if !reflect.DeepEqual(got, l.anomalies) {
				t.Errorf("anomalies and masks:\n got %v\nwant %v", got, l.anomalies)
			}
			if len(c.Normal())+len(c.Anomalous()) != len(c.Test) || len(c.Normal()) == 0 {
				t.Errorf("test %d, normal %d", len(c.Test), len(c.Normal()))
			}
			// The MVTec-like reader of the same tree gives the same samples, pairing the
			// masks by position (with a warning) where their names differ.
			tree, err := Open(root, l.format, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tree.Classes[0].Train, c.Train) || !reflect.DeepEqual(tree.Classes[0].Test, c.Test) {
				t.Errorf("%s reader:\n%+v\nmeta:\n%+v", l.format, tree.Classes[0].Test, c.Test)
			}
			byName := l.name == "AITEX" || l.name == "BTAD"
			if w := tree.Warnings(); byName != (len(w) == 0) || !byName && !strings.Contains(w[0], "sorted position") {
				t.Errorf("warnings %q", w)
			}
		})
	}
}

func TestOpenMetaVisAAndProblems(t *testing.T) {
	root := tree(t, "candle/Data/Images/Normal/0000.JPG", "candle/Data/Images/Normal/0001.JPG",
		"candle/Data/Images/Anomaly/000.JPG", "candle/Data/Masks/Anomaly/000.png", "candle/Data/Images/Anomaly/001.JPG")
	writeText(t, root, "m/meta.json", `{"train": {"candle": [
	  {"img_path": "candle/Data/Images/Normal/0000.JPG", "mask_path": "", "cls_name": "candle", "specie_name": "", "anomaly": 0}]},
	 "test": {"candle": [
	  {"img_path": "candle/Data/Images/Anomaly/000.JPG", "mask_path": "candle/Data/Masks/Anomaly/000.png", "cls_name": "candle", "specie_name": "", "anomaly": 1},
	  {"img_path": "candle/Data/Images/Anomaly/001.JPG", "mask_path": "candle/Data/Masks/Anomaly/001.png", "cls_name": "candle", "specie_name": "", "anomaly": 1},
	  {"img_path": "candle/Data/Images/Anomaly/002.JPG", "mask_path": "", "cls_name": "candle", "specie_name": "", "anomaly": 1},
	  {"img_path": "candle/Data/Images/Normal/0001.JPG", "mask_path": "", "cls_name": "candle", "specie_name": "", "anomaly": 0}]}}`)
	if _, err := Open(root, FormatMeta, nil); err == nil || !strings.Contains(err.Error(), "meta.json") {
		t.Errorf("no meta.json: %v", err)
	}
	ds, err := OpenMeta(root, filepath.Join(root, "m/meta.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &ds.Classes[0]
	checkSamples(t, "test", root, c.Test,
		"candle/Data/Images/Anomaly/000.JPG|candle/Data/Masks/Anomaly/000.png|bad|a|test",
		"candle/Data/Images/Normal/0001.JPG||good|n|test")
	checkKeys(t, "test", c.Test, "test/bad/000", "test/good/0001")
	checkSamples(t, "train", root, c.Train, "candle/Data/Images/Normal/0000.JPG||good|n|train")
	if len(c.Problems) != 2 || !strings.Contains(c.Problems[0].Error(), `test["candle"][1]`) || !strings.Contains(c.Problems[1].Error(), "no such file") {
		t.Errorf("problems %v", c.Problems)
	}
	if _, err := OpenMeta(root, filepath.Join(root, "m/meta.json"), []string{"cable"}); err == nil || !strings.Contains(err.Error(), "classes found: candle") {
		t.Errorf("missing class: %v", err)
	}
	writeText(t, root, "meta.json", `{"test": {"candle": [{"img_path": "x.png", "anomaly": 2}]}}`)
	if _, err := Open(root, FormatMeta, nil); err == nil || !strings.Contains(err.Error(), "want 0 or 1") {
		t.Errorf("bad anomaly: %v", err)
	}
	writeText(t, root, "meta.json", `{"train": {}}`)
	if _, err := Open(root, FormatMeta, nil); err == nil || !strings.Contains(err.Error(), `no "test" split`) {
		t.Errorf("no test split: %v", err)
	}
}

// An MVTec tree read as mvtec and through the meta.json gen_mvtec_json.py would write
// for it gives the same episodes, drawn or with fixed references.
func TestMetaMatchesMVTec(t *testing.T) {
	root := filepath.Join(t.TempDir(), "MVTecAD")
	classes := []string{"fabric", "nut"}
	if err := synth.Generate(root, synth.Options{Size: 32, Seed: 3, Classes: classes, Train: 3, TestGood: 2, PerDefect: 1}); err != nil {
		t.Fatal(err)
	}
	writeMetaJSON(t, root, "good", classes...)
	if f, _ := Detect(root); f != FormatMVTec {
		t.Errorf("detect %q", f)
	}
	mv, err := Open(root, FormatMVTec, nil)
	if err != nil {
		t.Fatal(err)
	}
	me, err := Open(root, FormatMeta, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(mv.Classes, me.Classes) {
		t.Fatalf("classes differ:\n%+v\n%+v", mv.Classes, me.Classes)
	}
	refs := t.TempDir()
	copyFile(t, filepath.Join(root, "nut/test/good/001.png"), filepath.Join(refs, "MVTecAD/nut/normal/good_001.png"))
	copyFile(t, filepath.Join(root, "nut/test/crack/000.png"), filepath.Join(refs, "MVTecAD/nut/abnormal/crack_000.png"))
	copyFile(t, filepath.Join(root, "nut/ground_truth/crack/000_mask.png"), filepath.Join(refs, "MVTecAD/nut/abnormal/crack_000_mask.png"))
	for _, ds := range []*Dataset{mv, me} {
		rs, err := ReadRefSet(refs, RefSetNames(ds)...)
		if err != nil {
			t.Fatal(err)
		}
		for _, opt := range []EpisodeOptions{{NShot: 2, AShot: 2, Seed: 9}, {NShot: 1, AShot: 1, Refs: rs["nut"]}} {
			a, err := NewEpisode(mv.Class("nut"), opt)
			if err != nil {
				t.Fatal(err)
			}
			b, err := NewEpisode(me.Class("nut"), opt)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("episodes differ:\n%+v\n%+v", a, b)
			}
			if opt.Refs != nil && (a.Removed != 2 || len(a.Warnings) != 0) {
				t.Errorf("fixed refs: removed %d, warnings %q", a.Removed, a.Warnings)
			}
		}
	}
}

// Pairing by position is only a fallback: never against a mask found by name, and
// only with as many masks as images.
func TestMaskPairingFallback(t *testing.T) {
	root := tree(t, "c/train/good/0.png", "c/test/cut/a.png", "c/test/cut/b.png", "c/ground_truth/cut/b_mask.png", "c/ground_truth/cut/c.png",
		"c/test/dent/x.png", "c/test/dent/y.png", "c/ground_truth/dent/1.png")
	ds, err := Open(root, FormatMVTec, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &ds.Classes[0]
	checkSamples(t, "test", root, c.Test, "c/test/cut/b.png|c/ground_truth/cut/b_mask.png|cut|a|test")
	if len(c.Problems) != 3 || len(ds.Warnings()) != 0 {
		t.Errorf("problems %v warnings %q", c.Problems, ds.Warnings())
	}
}
