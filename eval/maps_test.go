package eval_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ideal-fsad/ideal/data"
	"github.com/ideal-fsad/ideal/eval"
	"github.com/ideal-fsad/ideal/mapio"
	"github.com/ideal-fsad/ideal/metrics"
)

// mapsTree writes one class "toy" of 8×8 images (two normal, two anomalous with a
// 2×2 defect) and a map per test image that is 1 on the defect and i/8 elsewhere.
// It returns the data set root, the maps root, and the maps and masks by image.
func mapsTree(t *testing.T) (root, maps string, pix [][]float32, masks [][]bool) {
	dir := t.TempDir()
	root, maps = filepath.Join(dir, "data"), filepath.Join(dir, "maps")
	writePNG := func(p string, img image.Image) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
	}
	grey := image.NewGray(image.Rect(0, 0, 8, 8))
	writePNG(filepath.Join(root, "toy", "train", "good", "000.png"), grey)
	for i, typ := range []string{"crack", "crack", "good", "good"} { // data.Open's order
		name := []string{"000", "001", "000", "001"}[i]
		writePNG(filepath.Join(root, "toy", "test", typ, name+".png"), grey)
		m, mask := make([]float32, 64), []bool(nil)
		if typ != "good" {
			mask = make([]bool, 64)
			gt := image.NewGray(image.Rect(0, 0, 8, 8))
			for _, k := range []int{9 + 9*i, 10 + 9*i, 17 + 9*i, 18 + 9*i} {
				mask[k], gt.Pix[k] = true, 255
			}
			writePNG(filepath.Join(root, "toy", "ground_truth", typ, name+"_mask.png"), gt)
		}
		for k := range m {
			m[k] = float32(k%8) / 8
			if mask != nil && mask[k] {
				m[k] = 1
			}
		}
		if err := mapio.Write(filepath.Join(maps, "toy", "test", typ, name+".tiff"), &mapio.Map{W: 8, H: 8, Pix: m}); err != nil {
			t.Fatal(err)
		}
		pix, masks = append(pix, m), append(masks, mask)
	}
	return root, maps, pix, masks
}

// eventSink records the calls of Maps.
type eventSink struct {
	eval.NopMapsSink
	events, warnings []string
}

func (s *eventSink) Warn(msg string) { s.warnings = append(s.warnings, msg) }
func (s *eventSink) Begin(_ *eval.MapsReport, n int) {
	s.events = append(s.events, fmt.Sprint("begin ", n))
}
func (s *eventSink) ClassStart(_ int, c string) { s.events = append(s.events, "class "+c) }
func (s *eventSink) Map(string)                 { s.events = append(s.events, "map") }
func (s *eventSink) End(*eval.MapsReport) error { s.events = append(s.events, "end"); return nil }

func TestMaps(t *testing.T) {
	root, maps, pix, masks := mapsTree(t)
	ds, err := data.Open(root, data.FormatMVTec, nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := &eventSink{}
	rep, err := eval.Maps(context.Background(), ds, eval.MapsOptions{Maps: maps}, sink)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(sink.events, ","); got != "begin 4,class toy,map,map,map,map,end" {
		t.Errorf("sink saw %s", got)
	}
	acc, authors := metrics.NewPixelAccumulator(0), metrics.NewAuthorsPROAccumulator()
	var scores []float64
	for i := range pix {
		acc.Add(8, 8, pix[i], masks[i])
		authors.Add(8, 8, pix[i], masks[i])
		scores = append(scores, float64((&mapio.Map{W: 8, H: 8, Pix: pix[i]}).Max()))
	}
	img, _ := metrics.ImageMetrics(scores, []bool{true, true, false, false})
	pr, _ := acc.Result(eval.DefaultProLimit)
	want := metrics.NewClassResult("toy", img, pr)
	want.SetAuthorsPRO(authors.Result()) // --pro both, the default
	if len(rep.Classes) != 1 || !reflect.DeepEqual(rep.Classes[0], want) {
		t.Errorf("classes %+v, want %+v", rep.Classes, want)
	}
	if rep.ProLimit != eval.DefaultProLimit || rep.MapFiles[mapio.SourceFloatTIFF] != 4 || rep.ImageScore != "map maximum" {
		t.Errorf("report %+v", rep)
	}
	js := filepath.Join(t.TempDir(), "m.json")
	var back eval.MapsReport
	if err := rep.WriteJSON(js); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(js); err != nil || json.Unmarshal(b, &back) != nil || !reflect.DeepEqual(back.Classes, rep.Classes) {
		t.Errorf("JSON round trip: %v, %+v", err, back)
	}
	var table strings.Builder
	rep.WriteTable(&table)
	if !strings.Contains(table.String(), "\ntoy ") || !strings.Contains(table.String(), "\nMean ") {
		t.Errorf("table:\n%s", table.String())
	}
}

func TestMapsProblems(t *testing.T) {
	root, maps, _, _ := mapsTree(t)
	ds, err := data.Open(root, data.FormatMVTec, nil)
	if err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(maps, "toy", "test", "good", "001.tiff")
	if err := mapio.Write(small, &mapio.Map{W: 4, H: 4, Pix: make([]float32, 16)}); err != nil {
		t.Fatal(err)
	}
	var size *eval.MapSizeError
	_, err = eval.Maps(context.Background(), ds, eval.MapsOptions{Maps: maps}, nil)
	if !errors.As(err, &size) || size.Map != small || size.W != 4 || size.GTW != 8 {
		t.Errorf("small map: %v, want a *MapSizeError", err)
	}
	rep, err := eval.Maps(context.Background(), ds, eval.MapsOptions{Maps: maps, Resize: true}, nil)
	if err != nil || rep.Resized != 1 {
		t.Errorf("Resize: %v, %d resized", err, rep.Resized)
	}
	os.Remove(small)
	if _, err = eval.Maps(context.Background(), ds, eval.MapsOptions{Maps: maps}, nil); err == nil || !strings.Contains(err.Error(), "1 test images have no map") {
		t.Errorf("missing map: %v", err)
	}
	sink := &eventSink{}
	rep, err = eval.Maps(context.Background(), ds, eval.MapsOptions{Maps: maps, SkipMissing: true}, sink)
	if err != nil || len(rep.NoMap) != 1 || len(sink.warnings) != 1 || rep.Classes[0].Images != 3 {
		t.Errorf("SkipMissing: %v, no map %q, warnings %q", err, rep.NoMap, sink.warnings)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err = eval.Maps(ctx, ds, eval.MapsOptions{Maps: maps, SkipMissing: true}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
