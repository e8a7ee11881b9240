package eval

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ideal-fsad/ideal/data"
)

// scoresColumns are the columns of a scores CSV that readScoresCSV uses.
type scoresColumns struct{ class, key, score int }

// readScoresCSV reads image scores (MapsOptions.Scores) from a CSV with a header naming
// the columns class, path or name, and score (or "image score", as FileSink's
// scores.csv has it). A path or name matches a test image of the class when it is a
// trailing part of the image's path (whole folder names), with or without the
// extension; it must match exactly one image. Rows matching no test image of ds are
// counted in a warning. The scores are keyed by the test image's path; every error
// names the file.
func readScoresCSV(path string, ds *data.Dataset, warn func(string)) (map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.TrimLeadingSpace = true
	cols, err := readScoresHeader(r, path)
	if err != nil {
		return nil, err
	}
	index := scoresIndex(ds)
	scores := map[string]float64{}
	unmatched := 0
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("scores %s: %w", path, err)
		}
		ref := index[rec[cols.class]][filepath.ToSlash(filepath.Clean(rec[cols.key]))]
		if ref == nil {
			unmatched++
			continue
		}
		if ref.ambiguous {
			return nil, fmt.Errorf("scores %s line %d: %q matches several test images of %s; give a longer path",
				path, line, rec[cols.key], rec[cols.class])
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[cols.score]), 64)
		if err != nil || v != v {
			return nil, fmt.Errorf("scores %s line %d: bad score %q", path, line, rec[cols.score])
		}
		if _, dup := scores[ref.path]; dup {
			return nil, fmt.Errorf("scores %s line %d: a second score for %s", path, line, ref.path)
		}
		scores[ref.path] = v
	}
	if unmatched > 0 && warn != nil {
		warn(fmt.Sprintf("%d rows of %s match no test image of the evaluated classes", unmatched, path))
	}
	return scores, nil
}

// readScoresHeader reads the header line and finds the columns in it (names compared
// without case and surrounding blanks, a leading byte-order mark ignored).
func readScoresHeader(r *csv.Reader, path string) (scoresColumns, error) {
	head, err := r.Read()
	if err != nil {
		return scoresColumns{}, fmt.Errorf("scores %s: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range head {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // the byte-order mark spreadsheet programs write
		}
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	var c scoresColumns
	key, ok := col["path"]
	if !ok {
		key, ok = col["name"]
	}
	ci, okc := col["class"]
	si, oks := col["score"]
	for _, alias := range []string{"image score", "image_score"} { // FileSink's scores.csv
		if i, ok := col[alias]; ok && !oks {
			si, oks = i, true
		}
	}
	if !ok || !okc || !oks {
		return c, fmt.Errorf("scores %s: the header %q needs the columns class, path (or name) and score", path, head)
	}
	c.class, c.key, c.score = ci, key, si
	return c, nil
}

// scoresRef is a test image that a path or name in a scores CSV matches.
type scoresRef struct {
	path      string
	ambiguous bool // the name matches several test images
}

// scoresIndex indexes every test image of every class by every trailing part of its
// path, with and without the extension.
func scoresIndex(ds *data.Dataset) map[string]map[string]*scoresRef {
	index := map[string]map[string]*scoresRef{}
	for _, c := range ds.Classes {
		idx := map[string]*scoresRef{}
		for _, s := range c.Test {
			parts := strings.Split(filepath.ToSlash(filepath.Clean(s.Path)), "/")
			for k := range parts {
				tail := strings.Join(parts[k:], "/")
				for _, t := range []string{tail, strings.TrimSuffix(tail, filepath.Ext(tail))} {
					if old, dup := idx[t]; dup && old.path != s.Path {
						old.ambiguous = true
					} else if !dup {
						idx[t] = &scoresRef{path: s.Path}
					}
				}
			}
		}
		index[c.Name] = idx
	}
	return index
}
