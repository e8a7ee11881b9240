package eval

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/data"
)

// scoresDataset is a small data set of two classes, with file names shared between
// defect types, for the scores reader (MapsOptions.Scores).
func scoresDataset() *data.Dataset {
	return &data.Dataset{Root: "/d", Format: data.FormatMVTec, Classes: []data.Class{
		{Name: "bottle", Test: []data.Sample{
			{Class: "bottle", Path: "/d/bottle/test/good/000.png", DefectType: "good"},
			{Class: "bottle", Path: "/d/bottle/test/broken_large/000.png", DefectType: "broken_large", Anomalous: true},
			{Class: "bottle", Path: "/d/bottle/test/broken_small/001.png", DefectType: "broken_small", Anomalous: true},
		}},
		{Name: "wood", Test: []data.Sample{
			{Class: "wood", Path: "/d/wood/test/good/000.png", DefectType: "good"},
			{Class: "wood", Path: "/d/wood/test/hole/000.png", DefectType: "hole", Anomalous: true},
		}},
	}}
}

// TestScoresCSVByteOrderMark: a CSV saved by a spreadsheet program starts with a
// byte-order mark, which must not hide the first column's name (found by FuzzScoresCSV).
func TestScoresCSVByteOrderMark(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scores.csv")
	if err := os.WriteFile(path, []byte("\ufeffclass,path,score\r\nbottle,good/000.png,0.25\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	scores, err := readScoresCSV(path, scoresDataset(), nil)
	if err != nil || len(scores) != 1 || scores["/d/bottle/test/good/000.png"] != 0.25 {
		t.Fatalf("scores %v, error %v; want the one score 0.25", scores, err)
	}
}

// FuzzScoresCSV feeds arbitrary scores files (MapsOptions.Scores, 'ideal metrics
// --scores') to readScoresCSV against a small data set of two classes. An error must
// start with "scores " and the file's path; an accepted file must give
// finite-or-infinite (never NaN) scores, only to test images of the data set, at most
// one per data row.
func FuzzScoresCSV(f *testing.F) {
	ds := scoresDataset()
	tests := map[string]bool{}
	for _, c := range ds.Classes {
		for _, s := range c.Test {
			tests[s.Path] = true
		}
	}
	for _, s := range []string{
		"class,path,score\nbottle,good/000.png,0.1\nbottle,broken_large/000.png,0.9\nbottle,001,0.5\nwood,good/000,0\nwood,hole/000.png,1\n",
		"class,name,image score\nbottle,test/good/000,NaN\n",
		"class,path,score\nbottle,000.png,0.5\n",
		"Class , PATH , Score\n bottle , good/000.png , 1e309\nbottle,good/000.png,-Inf\n",
		"class,path,score\nbottle,good/000.png,0.1\nbottle,/d/bottle/test/good/000.png,0.2\n",
		"class,path,score\nbottle,good/000.png\n",
		"class,path,score\n\"bottle,good/000.png,0.1\n",
		"class,score\nbottle,1\n",
		"\ufeffclass,path,score\nbottle,../good/000.png,0x1p-2\n",
		"class,path,score,path\nbottle,x,1,good/000.png\n",
		"",
		"\n\n\n",
		"class,path,score\nwood,hole/000.png,1_0\nnope,hole/000.png,1\n",
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "scores.csv")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		scores, err := readScoresCSV(path, ds, func(string) {})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "scores "+path) {
				t.Fatalf("error that does not start with the file: %v", err)
			}
			return
		}
		rows := bytes.Count(b, []byte("\n")) + bytes.Count(b, []byte("\r")) + 1
		if len(scores) > len(tests) || len(scores) > rows {
			t.Fatalf("%d scores from %d lines for %d test images", len(scores), rows, len(tests))
		}
		for p, v := range scores {
			if !tests[p] {
				t.Fatalf("score for %q, which is not a test image", p)
			}
			if math.IsNaN(v) {
				t.Fatalf("NaN score for %s accepted", p)
			}
		}
	})
}
