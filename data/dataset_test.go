package data

import (
	"errors"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writePNG writes a tiny 4×4 grey PNG at root/rel (a mask when mask is set).
func writePNG(t *testing.T, root, rel string, mask bool) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	im := image.NewGray(image.Rect(0, 0, 4, 4))
	h := fnv.New32a()
	h.Write([]byte(rel))
	for i := range im.Pix {
		im.Pix[i] = uint8(i*13) + uint8(h.Sum32()>>uint(i%4*8)) // distinct content per file
	}
	if mask {
		clear(im.Pix)
		im.SetGray(1, 1, color.Gray{Y: 255})
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, im); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeFile writes a small file, making its folders.
func writeFile(tb testing.TB, p string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// tree writes every file; names containing "mask" or under ground_truth/masks are masks.
func tree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		if strings.HasSuffix(f, ".txt") || strings.HasSuffix(f, ".csv") {
			continue
		}
		writePNG(t, root, f, strings.Contains(f, "mask") || strings.Contains(f, "ground_truth") || strings.Contains(f, "Masks"))
	}
	return root
}

func writeText(t *testing.T, root, rel, text string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// rel returns the sample's paths relative to root, slash-separated, as "img|mask|type|anom|split".
func rel(t *testing.T, root string, ss []Sample) []string {
	t.Helper()
	var out []string
	for _, s := range ss {
		r := func(p string) string {
			if p == "" {
				return ""
			}
			q, err := filepath.Rel(root, p)
			if err != nil {
				t.Fatal(err)
			}
			return filepath.ToSlash(q)
		}
		a := "n"
		if s.Anomalous {
			a = "a"
		}
		out = append(out, strings.Join([]string{r(s.Path), r(s.MaskPath), s.DefectType, a, s.Split}, "|"))
	}
	return out
}

func checkKeys(t *testing.T, what string, got []Sample, want ...string) {
	t.Helper()
	var k []string
	for _, s := range got {
		k = append(k, s.Key)
	}
	if !slices.Equal(k, want) {
		t.Errorf("%s keys:\n got %q\nwant %q", what, k, want)
	}
}

func checkSamples(t *testing.T, what, root string, got []Sample, want ...string) {
	t.Helper()
	g := rel(t, root, got)
	if !slices.Equal(g, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, g, want)
	}
}

func TestOpenMVTec(t *testing.T) {
	root := tree(t,
		"bottle/train/good/000.png", "bottle/train/good/001.png",
		"bottle/test/good/000.png",
		"bottle/test/broken_large/000.png", "bottle/ground_truth/broken_large/000_mask.png",
		"bottle/test/contamination/003.png", "bottle/ground_truth/contamination/003_mask.png",
		"carpet/train/good/000.png", "carpet/test/color/000.png", "carpet/ground_truth/color/000_mask.png",
	)
	writeText(t, root, "license.txt", "x")
	writeText(t, root, "bottle/readme.txt", "x")
	for _, format := range []string{FormatMVTec, FormatMPDD} {
		ds, err := Open(root, format, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds.Classes) != 2 || ds.Classes[0].Name != "bottle" || ds.Classes[1].Name != "carpet" {
			t.Fatalf("classes %+v", ds.Classes)
		}
		b := ds.Class("bottle")
		checkSamples(t, "train", root, b.Train, "bottle/train/good/000.png||good|n|train", "bottle/train/good/001.png||good|n|train")
		checkSamples(t, "test", root, b.Test,
			"bottle/test/broken_large/000.png|bottle/ground_truth/broken_large/000_mask.png|broken_large|a|test",
			"bottle/test/contamination/003.png|bottle/ground_truth/contamination/003_mask.png|contamination|a|test",
			"bottle/test/good/000.png||good|n|test")
		checkKeys(t, "bottle", b.Test, "test/broken_large/000", "test/contamination/003", "test/good/000")
		checkKeys(t, "bottle train", b.Train, "train/good/000", "train/good/001")
		if got := b.DefectTypes(); !slices.Equal(got, []string{"broken_large", "contamination"}) {
			t.Errorf("defect types %q", got)
		}
		if len(b.Normal()) != 1 || len(b.Anomalous()) != 2 || len(ds.Problems()) != 0 {
			t.Errorf("normal %d anomalous %d problems %v", len(b.Normal()), len(b.Anomalous()), ds.Problems())
		}
	}
	// Class selection.
	ds, err := Open(root, FormatMVTec, []string{"carpet"})
	if err != nil || len(ds.Classes) != 1 || ds.Classes[0].Name != "carpet" {
		t.Fatalf("select carpet: %v %+v", err, ds)
	}
	_, err = Open(root, FormatMVTec, []string{"carpet", "zipper"})
	if err == nil || !strings.Contains(err.Error(), "zipper") || !strings.Contains(err.Error(), "bottle, carpet") {
		t.Errorf("missing class: %v", err)
	}
}

func TestOpenTrainDefault(t *testing.T) {
	// The train folder's images carry DefectType good.
	root := tree(t, "c/train/good/a.png", "c/test/good/b.png")
	ds, err := Open(root, FormatMVTec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Classes[0].Train[0].DefectType != Good {
		t.Errorf("train defect type %q", ds.Classes[0].Train[0].DefectType)
	}
}

func TestOpenBroken(t *testing.T) {
	cases := []struct {
		name   string
		files  []string
		format string
		want   []string // substrings of the error
	}{
		{"no class", []string{"x/y.png"}, FormatMVTec, []string{"no class found", "<class>/train/good", "x/"}},
		{"no train", []string{"c/test/good/0.png"}, FormatMVTec, []string{"class c", "train/good"}},
		{"empty train", []string{"c/train/good/readme.txt", "c/test/good/0.png"}, FormatMVTec, []string{"no images in", "train/good"}},
		{"empty test", []string{"c/train/good/0.png", "c/test/crack/x.txt"}, FormatMVTec, []string{"no test images"}},
		{"all masks missing", []string{"c/train/good/0.png", "c/test/crack/0.png"}, FormatMVTec, []string{"no usable test image", "000_mask.png", "has no mask"}},
		{"btad no ok", []string{"01/train/good2/0.bmp", "01/test/ko/0.bmp"}, FormatBTAD, []string{"train/ok"}},
		{"visa neither", []string{"candle/Data/Images/Normal/0.JPG"}, FormatVisA, []string{"split_csv/1cls.csv", "candle/"}},
		{"folder empty", []string{"c/normal/x.txt"}, FormatFolder, []string{"no images"}},
		{"folder loose abnormal", []string{"c/normal/0.png", "c/abnormal/1.png"}, FormatFolder, []string{"abnormal/<defect type>"}},
		{"bad format", []string{"c/normal/0.png"}, "mvtech", []string{"unknown format", "mvtec, visa"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := tree(t, tc.files...)
			for _, f := range tc.files {
				if strings.HasSuffix(f, ".txt") {
					writeText(t, root, f, "x")
				}
			}
			if tc.name == "all masks missing" {
				// the expected mask name is reported with the image's stem
				tc.want[1] = "0_mask.png"
			}
			_, err := Open(root, tc.format, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "nope"), FormatMVTec, nil); err == nil || !strings.Contains(err.Error(), "data:") {
		t.Errorf("missing root: %v", err)
	}
}

func TestOpenMissingMaskIsSkipped(t *testing.T) {
	root := tree(t,
		"c/train/good/0.png", "c/test/good/0.png",
		"c/test/crack/0.png", "c/ground_truth/crack/0_mask.png",
		"c/test/crack/1.png", // no mask
	)
	ds, err := Open(root, FormatMVTec, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := ds.Classes[0]
	checkSamples(t, "test", root, c.Test, "c/test/crack/0.png|c/ground_truth/crack/0_mask.png|crack|a|test", "c/test/good/0.png||good|n|test")
	p := ds.Problems()
	if len(p) != 1 || !errors.Is(p[0], ErrNoMask) || p[0].Path != filepath.Join(root, "c/test/crack/1.png") ||
		!strings.Contains(p[0].Error(), filepath.Join("ground_truth", "crack", "1_mask.png")) {
		t.Errorf("problems %v", p)
	}
}

func TestOpenBTAD(t *testing.T) {
	root := tree(t,
		"01/train/ok/0000.bmp", "01/test/ok/0000.bmp",
		"01/test/ko/0001.bmp", "01/ground_truth/ko/0001.png",
		"03/train/ok/0000.bmp", "03/test/ko/0002.bmp", "03/ground_truth/ko/0002.bmp",
	)
	ds, err := Open(root, FormatBTAD, nil)
	if err != nil {
		t.Fatal(err)
	}
	checkSamples(t, "01", root, ds.Class("01").Test,
		"01/test/ko/0001.bmp|01/ground_truth/ko/0001.png|ko|a|test", "01/test/ok/0000.bmp||good|n|test")
	checkSamples(t, "03", root, ds.Class("03").Test, "03/test/ko/0002.bmp|03/ground_truth/ko/0002.bmp|ko|a|test")
	checkKeys(t, "01", ds.Class("01").Test, "test/ko/0001", "test/ok/0000")
	checkKeys(t, "01 train", ds.Class("01").Train, "train/ok/0000")
}

func TestOpenVisARaw(t *testing.T) {
	root := tree(t,
		"candle/Data/Images/Normal/0000.JPG", "candle/Data/Images/Normal/0001.JPG", "candle/Data/Images/Normal/0002.JPG",
		"candle/Data/Images/Anomaly/000.JPG", "candle/Data/Masks/Anomaly/000.png",
		"candle/Data/Images/Anomaly/001.JPG", // mask file missing
		"candle/Data/Images/Anomaly/002.JPG", // mask column empty
		"pcb1/Data/Images/Normal/0000.JPG", "pcb1/Data/Images/Anomaly/000.JPG", "pcb1/Data/Masks/Anomaly/000.png",
	)
	writeText(t, root, "split_csv/1cls.csv", "object,split,label,image,mask\n"+
		"candle,train,normal,candle/Data/Images/Normal/0000.JPG,\n"+
		"candle,test,normal,candle/Data/Images/Normal/0001.JPG,\n"+
		"candle,test,normal,candle/Data/Images/Normal/0099.JPG,\n"+ // image missing
		"candle,test,anomaly,candle/Data/Images/Anomaly/000.JPG,candle/Data/Masks/Anomaly/000.png\n"+
		"candle,test,anomaly,candle/Data/Images/Anomaly/001.JPG,candle/Data/Masks/Anomaly/001.png\n"+
		"candle,test,anomaly,candle/Data/Images/Anomaly/002.JPG,\n"+
		"candle,test,normal,../outside.JPG,\n"+
		"pcb1,train,normal,pcb1/Data/Images/Normal/0000.JPG,\n"+
		"pcb1,test,anomaly,pcb1/Data/Images/Anomaly/000.JPG,pcb1/Data/Masks/Anomaly/000.png\n")
	ds, err := Open(root, FormatVisA, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := ds.Class("candle")
	checkSamples(t, "train", root, c.Train, "candle/Data/Images/Normal/0000.JPG||good|n|train")
	checkSamples(t, "test", root, c.Test,
		"candle/Data/Images/Anomaly/000.JPG|candle/Data/Masks/Anomaly/000.png|bad|a|test",
		"candle/Data/Images/Normal/0001.JPG||good|n|test")
	checkKeys(t, "candle", c.Test, "test/bad/000", "test/good/0001")
	checkKeys(t, "candle train", c.Train, "train/good/0000")
	if len(c.Problems) != 4 {
		t.Fatalf("problems %v", c.Problems)
	}
	for i, want := range []string{"0099.JPG", "001.JPG", "002.JPG", "not inside"} {
		if !strings.Contains(c.Problems[i].Error(), want) || !strings.Contains(c.Problems[i].Error(), "line") {
			t.Errorf("problem %d = %v, want %q", i, c.Problems[i], want)
		}
	}
	if !errors.Is(c.Problems[1], ErrNoMask) || !errors.Is(c.Problems[2], ErrNoMask) {
		t.Errorf("mask problems are not ErrNoMask: %v", c.Problems)
	}
	if ds, err := Open(root, FormatVisA, []string{"pcb1"}); err != nil || len(ds.Classes) != 1 {
		t.Errorf("select pcb1: %v", err)
	}

	for _, bad := range []struct{ csv, want string }{
		{"object,split,label,image\n", "expected the columns"},
		{"object,split,label,image,mask\ncandle,val,normal,a,\n", "line 2: split \"val\""},
		{"object,split,label,image,mask\ncandle,test,good,a,\n", "label \"good\""},
		{"object,split,label,image,mask\ncandle,test\n", "2 fields, want 5"},
		{"", "reading the header"},
		{"object,split,label,image,mask\n", "no class found"},
	} {
		writeText(t, root, "split_csv/1cls.csv", bad.csv)
		if _, err := Open(root, FormatVisA, nil); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("csv %q: error %v, want %q", bad.csv, err, bad.want)
		}
	}
}

func TestOpenVisAConverted(t *testing.T) {
	files := []string{
		"1cls/candle/train/good/0000.JPG", "1cls/candle/test/good/0001.JPG",
		"1cls/candle/test/bad/000.JPG", "1cls/candle/ground_truth/bad/000.png",
	}
	root := tree(t, files...)
	for _, r := range []string{root, filepath.Join(root, "1cls")} {
		ds, err := Open(r, FormatVisA, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkSamples(t, "test", root, ds.Class("candle").Test,
			"1cls/candle/test/bad/000.JPG|1cls/candle/ground_truth/bad/000.png|bad|a|test",
			"1cls/candle/test/good/0001.JPG||good|n|test")
	}
}

func TestOpenFolder(t *testing.T) {
	root := tree(t,
		"widget/normal/a.png", "widget/normal/b.jpg",
		"widget/abnormal/scratch/s1.png", "widget/masks/scratch/s1_mask.png",
		"widget/abnormal/dent/d1.jpg", "widget/masks/dent/d1.png",
		"widget/abnormal/dent/d2.jpg", // no mask
		"gadget/normal/a.png", "gadget/normal/a.jpg",
	)
	ds, err := Open(root, FormatFolder, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Classes) != 2 {
		t.Fatalf("classes %+v", ds.Classes)
	}
	w := ds.Class("widget")
	checkSamples(t, "widget", root, w.Test,
		"widget/abnormal/dent/d1.jpg|widget/masks/dent/d1.png|dent|a|test",
		"widget/abnormal/scratch/s1.png|widget/masks/scratch/s1_mask.png|scratch|a|test",
		"widget/normal/a.png||good|n|test",
		"widget/normal/b.jpg||good|n|test")
	checkKeys(t, "widget", w.Test, "test/dent/d1", "test/scratch/s1", "test/good/a", "test/good/b")
	if len(w.Train) != 0 || len(w.Problems) != 1 || !errors.Is(w.Problems[0], ErrNoMask) {
		t.Errorf("train %v problems %v", w.Train, w.Problems)
	}
	g := ds.Class("gadget")
	if len(g.Test) != 1 || len(g.Problems) != 1 || !strings.Contains(g.Problems[0].Error(), "same name as") {
		t.Errorf("duplicate key: test %v problems %v", paths(g.Test), g.Problems)
	}
	// A single class at the root.
	one, err := Open(filepath.Join(root, "widget"), FormatFolder, nil)
	if err != nil || len(one.Classes) != 1 || one.Classes[0].Name != "widget" || len(one.Classes[0].Test) != 4 {
		t.Fatalf("single class: %v %+v", err, one)
	}
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{"bottle/train/good/0.png", "bottle/test/good/0.png"}, FormatMVTec},
		{[]string{"01/train/ok/0.bmp", "01/test/ok/0.bmp"}, FormatBTAD},
		{[]string{"split_csv/1cls.txt", "candle/Data/Images/Normal/0.JPG"}, ""},
		{[]string{"1cls/candle/train/good/0.JPG"}, FormatVisA},
		{[]string{"normal/0.png"}, FormatFolder},
		{[]string{"w/abnormal/dent/0.png"}, FormatFolder},
		{[]string{"stuff/0.png"}, ""},
	} {
		root := tree(t, tc.files...)
		got, err := Detect(root)
		if got != tc.want || (tc.want == "") != (err != nil) {
			t.Errorf("%q: %q, %v; want %q", tc.files, got, err, tc.want)
		}
	}
	root := tree(t, "candle/Data/Images/Normal/0.JPG")
	writeText(t, root, "split_csv/1cls.csv", "object,split,label,image,mask\n")
	if got, err := Detect(root); got != FormatVisA || err != nil {
		t.Errorf("raw VisA: %q %v", got, err)
	}
}
