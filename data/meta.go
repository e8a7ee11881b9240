package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// MetaFile is the name of the authors' data-set description in a data set's root.
const MetaFile = "meta.json"

// metaEntry is one image of a meta.json, as the authors' dataset/gen_*_json.py write it.
type metaEntry struct {
	ImgPath  string  `json:"img_path"`
	MaskPath string  `json:"mask_path"`
	Specie   string  `json:"specie_name"`
	Anomaly  metaBit `json:"anomaly"`
}

// metaBit is meta.json's anomaly flag: 0 or 1 (false or true also read).
type metaBit bool

func (b *metaBit) UnmarshalJSON(p []byte) error {
	switch string(bytes.TrimSpace(p)) {
	case "0", "false":
		*b = false
	case "1", "true":
		*b = true
	default:
		return fmt.Errorf("anomaly %s, want 0 or 1", p)
	}
	return nil
}

// metaSplits is a whole meta.json: split → class → images.
type metaSplits map[string]map[string][]metaEntry

// OpenMeta reads the data set that the authors' meta.json at metaPath describes
// (see the package comment), its paths relative to root; "" means root/meta.json.
// classes selects classes as in Open.
func OpenMeta(root, metaPath string, classes []string) (*Dataset, error) {
	if err := checkRoot(root); err != nil {
		return nil, err
	}
	if metaPath == "" {
		metaPath = filepath.Join(root, MetaFile)
	}
	cs, err := readMeta(root, metaPath, classes)
	if err != nil {
		return nil, err
	}
	return finish(root, FormatMeta, cs), nil
}

func readMeta(root, metaPath string, wanted []string) ([]Class, error) {
	b, err := os.ReadFile(metaPath)
	if err != nil {
		return nil, fmt.Errorf("data: %w (the meta format reads the authors' %s, written by their dataset/gen_*_json.py)", err, MetaFile)
	}
	var m metaSplits
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("data: %s: %w", metaPath, err)
	}
	test, ok := m[SplitTest]
	if !ok {
		return nil, fmt.Errorf("data: %s: no \"test\" split (expected {\"train\": {class: [...]}, \"test\": {class: [...]}})", metaPath)
	}
	found := make([]string, 0, len(test))
	for c := range test {
		found = append(found, c)
	}
	sel, err := selectClasses(root, found, wanted, "classes in the \"test\" split of "+metaPath)
	if err != nil {
		return nil, err
	}
	out := make([]Class, 0, len(sel))
	for _, name := range sel {
		c := Class{Name: name}
		for _, split := range []string{SplitTrain, SplitTest} {
			for i, e := range m[split][name] {
				c.addMeta(root, metaPath, split, i, e)
			}
		}
		sortSamples(c.Train)
		sortSamples(c.Test)
		if len(c.Test) == 0 {
			return nil, emptyTest(name, metaPath, c.Problems)
		}
		out = append(out, c)
	}
	return out, nil
}

// addMeta adds the i-th image of a class's split in meta.json, as the authors' loader
// reads it: paths joined to root, an empty specie_name read as "bad" (anomalous) or
// "good" (normal). A missing file or mask is recorded as a problem.
func (c *Class) addMeta(root, metaPath, split string, i int, e metaEntry) {
	problem := func(p string, err error) {
		c.Problems = append(c.Problems, &SampleError{Class: c.Name, Path: p,
			Err: fmt.Errorf("%s %s[%q][%d]: %w", metaPath, split, c.Name, i, err)})
	}
	folder := e.Specie
	if folder == "" {
		folder = Good
		if e.Anomaly {
			folder = visaDefect
		}
	}
	s := Sample{Class: c.Name, DefectType: Good, Split: split, Anomalous: bool(e.Anomaly)}
	var err error
	if s.Path, err = metaFile(root, e.ImgPath); err != nil {
		problem(s.Path, err)
		return
	}
	if s.Anomalous {
		s.DefectType = folder
		if e.MaskPath == "" {
			problem(s.Path, ErrNoMask)
			return
		}
		if s.MaskPath, err = metaFile(root, e.MaskPath); err != nil {
			problem(s.Path, fmt.Errorf("%w: %s: %v", ErrNoMask, s.MaskPath, err))
			return
		}
	}
	s.Key = key(split, folder, s.Path)
	if split == SplitTrain {
		if s.Anomalous {
			problem(s.Path, fmt.Errorf("an anomalous image in the train split"))
			return
		}
		c.Train = append(c.Train, s)
	} else {
		c.Test = append(c.Test, s)
	}
}

// metaFile resolves a meta.json path as the authors' os.path.join(root, p) does (an
// absolute p stays as it is) and checks that it names a file; the error does not
// repeat the path.
func metaFile(root, p string) (string, error) {
	if p == "" {
		return "", fmt.Errorf("empty path")
	}
	full := filepath.FromSlash(p)
	if !filepath.IsAbs(full) {
		full = filepath.Join(root, full)
	}
	st, err := os.Stat(full)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return full, pe.Err
	}
	if err != nil {
		return full, err
	}
	if st.IsDir() {
		return full, errors.New("is a folder")
	}
	return full, nil
}

// metaClasses returns the sorted class names of a meta.json's test split, or nil
// when path is not a readable meta.json (for Detect).
func metaClasses(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var m metaSplits
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	var out []string
	for c := range m[SplitTest] {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
