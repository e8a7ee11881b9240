package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// layoutNames are the folder names of one MVTec-like layout.
type layoutNames struct {
	normal []string // accepted names of the normal folders, preferred first
}

var (
	mvtecNames = layoutNames{normal: []string{"good"}}
	btadNames  = layoutNames{normal: []string{"ok", "good"}}
)

// readMVTecLike reads ROOT/<class>/{train,test,ground_truth} layouts.
func readMVTecLike(root, format string, names layoutNames, wanted []string) ([]Class, error) {
	dirs, err := listDirs(root)
	if err != nil {
		return nil, err
	}
	var found []string
	for _, d := range dirs {
		if dirExists(filepath.Join(root, d, "test")) {
			found = append(found, d)
		}
	}
	expected := fmt.Sprintf("%s layout <class>/train/%s, <class>/test/<type>, <class>/ground_truth/<type>", format, names.normal[0])
	sel, err := selectClasses(root, found, wanted, expected)
	if err != nil {
		return nil, err
	}
	out := make([]Class, 0, len(sel))
	for _, name := range sel {
		c, err := readMVTecClass(filepath.Join(root, name), name, names)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func readMVTecClass(dir, name string, names layoutNames) (Class, error) {
	c := Class{Name: name}
	trainDir := ""
	for _, n := range names.normal {
		if p := filepath.Join(dir, "train", n); dirExists(p) {
			trainDir = p
			break
		}
	}
	if trainDir == "" {
		return c, fmt.Errorf("data: class %s: expected the folder %s; found in %s: %s",
			name, filepath.Join(dir, "train", names.normal[0]), filepath.Join(dir, "train"), describeDir(filepath.Join(dir, "train")))
	}
	imgs, err := listImages(trainDir)
	if err != nil {
		return c, err
	}
	if len(imgs) == 0 {
		return c, fmt.Errorf("data: class %s: no images in %s (found %s)", name, trainDir, describeDir(trainDir))
	}
	for _, im := range imgs {
		c.Train = append(c.Train, Sample{Class: name, Path: filepath.Join(trainDir, im), DefectType: Good, Split: SplitTrain,
			Key: key(SplitTrain, filepath.Base(trainDir), im)})
	}
	testDir := filepath.Join(dir, "test")
	types, err := listDirs(testDir)
	if err != nil {
		return c, err
	}
	for _, t := range types {
		tdir := filepath.Join(testDir, t)
		imgs, err := listImages(tdir)
		if err != nil {
			return c, err
		}
		if slices.Contains(names.normal, t) {
			for _, im := range imgs {
				c.Test = append(c.Test, Sample{Class: name, Path: filepath.Join(tdir, im), DefectType: Good, Split: SplitTest,
					Key: key(SplitTest, t, im)})
			}
			continue
		}
		c.addAnomalies(tdir, filepath.Join(dir, "ground_truth", t), t, imgs)
	}
	if len(c.Test) == 0 {
		return c, emptyTest(name, testDir, c.Problems)
	}
	sortSamples(c.Test)
	return c, nil
}

func emptyTest(class, dir string, problems []*SampleError) error {
	if len(problems) > 0 {
		return fmt.Errorf("data: class %s: no usable test image in %s: %d left out, the first: %w", class, dir, len(problems), problems[0])
	}
	return fmt.Errorf("data: class %s: no test images in %s (found %s)", class, dir, describeDir(dir))
}

// VisA's defect type: the release does not name defect types.
const visaDefect = "bad"

// readVisA reads the raw VisA release (split_csv/1cls.csv) or its converted 1cls/ layout.
func readVisA(root string, wanted []string) ([]Class, error) {
	csvPath := filepath.Join(root, "split_csv", "1cls.csv")
	if _, err := os.Stat(csvPath); err == nil {
		f, err := os.Open(csvPath)
		if err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		defer f.Close()
		return readVisACSV(root, csvPath, f, wanted)
	}
	if dirExists(filepath.Join(root, "1cls")) {
		root = filepath.Join(root, "1cls")
	}
	dirs, err := listDirs(root)
	if err != nil {
		return nil, err
	}
	mvtecLike := false
	for _, d := range dirs {
		if dirExists(filepath.Join(root, d, "test")) {
			mvtecLike = true
		}
	}
	if !mvtecLike {
		return nil, fmt.Errorf("data: %s is not a VisA folder: expected split_csv/1cls.csv (raw release) or <class>/train/good, <class>/test/bad (converted 1cls layout); found %s",
			root, describeDir(root))
	}
	return readMVTecLike(root, FormatVisA, mvtecNames, wanted)
}

var visaColumns = []string{"object", "split", "label", "image", "mask"}

// readVisACSV reads VisA's split CSV; paths in it are relative to root.
func readVisACSV(root, csvPath string, r io.Reader, wanted []string) ([]Class, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	head, col, err := readVisAHeader(cr, csvPath)
	if err != nil {
		return nil, err
	}
	rows := visaRows{root: root, csvPath: csvPath, byClass: map[string]*Class{}}
	line := 1
	for {
		rec, err := cr.Read()
		line++
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("data: %s: %w", csvPath, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rec) != len(head) {
			return nil, fmt.Errorf("data: %s line %d: %d fields, want %d", csvPath, line, len(rec), len(head))
		}
		if err := rows.add(line, col, rec); err != nil {
			return nil, err
		}
	}
	return rows.classes(wanted)
}

// readVisAHeader reads the header of VisA's split CSV and returns it with the
// index of each column by name; all of visaColumns must be present.
func readVisAHeader(cr *csv.Reader, csvPath string) ([]string, map[string]int, error) {
	head, err := cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("data: %s: reading the header: %w", csvPath, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, c := range visaColumns {
		if _, ok := col[c]; !ok {
			return nil, nil, fmt.Errorf("data: %s: expected the columns %s; found %q", csvPath, strings.Join(visaColumns, ","), head)
		}
	}
	return head, col, nil
}

// visaRows gathers the classes of VisA's split CSV csvPath row by row, in the
// order their objects first appear.
type visaRows struct {
	root, csvPath string
	byClass       map[string]*Class
	order         []string
}

// add adds the sample of the CSV row rec, read at line, to its class. A row with a
// bad object, split or label is an error; one whose files are missing is recorded
// as a problem of its class.
func (v *visaRows) add(line int, col map[string]int, rec []string) error {
	get := func(k string) string { return strings.TrimSpace(rec[col[k]]) }
	obj, split, label, img, mask := get("object"), get("split"), get("label"), get("image"), get("mask")
	if obj == "" {
		return fmt.Errorf("data: %s line %d: empty object", v.csvPath, line)
	}
	if split != SplitTrain && split != SplitTest {
		return fmt.Errorf("data: %s line %d: split %q, want train or test", v.csvPath, line, split)
	}
	if label != "normal" && label != "anomaly" {
		return fmt.Errorf("data: %s line %d: label %q, want normal or anomaly", v.csvPath, line, label)
	}
	c := v.byClass[obj]
	if c == nil {
		c = &Class{Name: obj}
		v.byClass[obj] = c
		v.order = append(v.order, obj)
	}
	s := Sample{Class: obj, DefectType: Good, Split: split, Anomalous: label == "anomaly"}
	problem := func(p string, err error) {
		c.Problems = append(c.Problems, &SampleError{Class: obj, Path: p, Err: fmt.Errorf("%s line %d: %w", v.csvPath, line, err)})
	}
	var perr error
	if s.Path, perr = localFile(v.root, img); perr != nil {
		problem(img, perr)
		return nil
	}
	if s.Anomalous {
		s.DefectType = visaDefect
		if mask == "" {
			problem(s.Path, ErrNoMask)
			return nil
		}
		if s.MaskPath, perr = localFile(v.root, mask); perr != nil {
			problem(s.Path, fmt.Errorf("%w: %v", ErrNoMask, perr))
			return nil
		}
	}
	s.Key = key(split, s.DefectType, s.Path)
	if split == SplitTrain {
		c.Train = append(c.Train, s)
	} else {
		c.Test = append(c.Test, s)
	}
	return nil
}

// classes returns the wanted classes gathered, their samples sorted; a class
// without test samples is an error.
func (v *visaRows) classes(wanted []string) ([]Class, error) {
	sel, err := selectClasses(v.root, v.order, wanted, "VisA rows in "+v.csvPath)
	if err != nil {
		return nil, err
	}
	out := make([]Class, 0, len(sel))
	for _, name := range sel {
		c := v.byClass[name]
		sortSamples(c.Train)
		sortSamples(c.Test)
		if len(c.Test) == 0 {
			return nil, emptyTest(name, v.csvPath, c.Problems)
		}
		out = append(out, *c)
	}
	return out, nil
}

// localFile resolves a slash-separated path relative to root, refusing paths that
// leave root, and checks that it names an existing file.
func localFile(root, rel string) (string, error) {
	p := filepath.FromSlash(rel)
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("path %q is not inside the data set folder", rel)
	}
	full := filepath.Join(root, p)
	st, err := os.Stat(full)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		return "", fmt.Errorf("%s is a folder", full)
	}
	return full, nil
}

func sortSamples(s []Sample) {
	slices.SortFunc(s, func(a, b Sample) int { return strings.Compare(a.Path, b.Path) })
}

// readFolder reads the folder layout: <class>/normal, <class>/abnormal/<type>, <class>/masks/<type>.
func readFolder(root string, wanted []string) ([]Class, error) {
	isClass := func(d string) bool {
		return dirExists(filepath.Join(d, "normal")) || dirExists(filepath.Join(d, "abnormal"))
	}
	if isClass(root) {
		name := filepath.Base(filepath.Clean(root))
		if _, err := selectClasses(root, []string{name}, wanted, ""); err != nil {
			return nil, err
		}
		c, err := readFolderClass(root, name)
		if err != nil {
			return nil, err
		}
		return []Class{c}, nil
	}
	dirs, err := listDirs(root)
	if err != nil {
		return nil, err
	}
	var found []string
	for _, d := range dirs {
		if isClass(filepath.Join(root, d)) {
			found = append(found, d)
		}
	}
	sel, err := selectClasses(root, found, wanted, "folder layout <class>/normal/, <class>/abnormal/<type>/, <class>/masks/<type>/")
	if err != nil {
		return nil, err
	}
	out := make([]Class, 0, len(sel))
	for _, name := range sel {
		c, err := readFolderClass(filepath.Join(root, name), name)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func readFolderClass(dir, name string) (Class, error) {
	c := Class{Name: name}
	if nd := filepath.Join(dir, "normal"); dirExists(nd) {
		imgs, err := listImages(nd)
		if err != nil {
			return c, err
		}
		for _, im := range imgs {
			c.Test = append(c.Test, Sample{Class: name, Path: filepath.Join(nd, im), DefectType: Good, Split: SplitTest,
				Key: key(SplitTest, Good, im)})
		}
	}
	if ad := filepath.Join(dir, "abnormal"); dirExists(ad) {
		if loose, _ := listImages(ad); len(loose) > 0 {
			return c, fmt.Errorf("data: class %s: images directly in %s (%s, ...): the folder layout expects abnormal/<defect type>/<image>",
				name, ad, loose[0])
		}
		types, err := listDirs(ad)
		if err != nil {
			return c, err
		}
		for _, t := range types {
			tdir := filepath.Join(ad, t)
			imgs, err := listImages(tdir)
			if err != nil {
				return c, err
			}
			c.addAnomalies(tdir, filepath.Join(dir, "masks", t), t, imgs)
		}
	}
	if len(c.Test) == 0 {
		if len(c.Problems) > 0 {
			return c, emptyTest(name, dir, c.Problems)
		}
		return c, fmt.Errorf("data: class %s: no images in %s/normal or %s/abnormal/<type> (found %s)", name, dir, dir, describeDir(dir))
	}
	sortSamples(c.Test)
	return c, nil
}

// addAnomalies adds the anomalous test images imgs of defect type t (in tdir) with
// their masks from mdir; an image without a mask is recorded in c.Problems. Masks are
// found by name; when some are not, but mdir holds as many mask images as there are
// images and pairing by sorted position keeps every mask found by name, they are
// paired by sorted position (as the authors' dataset/gen_*_json.py pair them), with
// a warning.
func (c *Class) addAnomalies(tdir, mdir, t string, imgs []string) {
	masks := readMaskIndex(mdir)
	found := make([]string, len(imgs))
	missing, first := 0, -1 // images without a mask of their name, the first of them
	for i, im := range imgs {
		if found[i] = masks.find(im); found[i] == "" {
			missing++
			if first < 0 {
				first = i
			}
		}
	}
	if missing > 0 {
		if byPos := pairByPosition(mdir, found); byPos != nil {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: %d of %d images have no mask of their name in %s; paired with the masks by sorted position, as the authors' data-set generators do (e.g. %s with %s)",
				tdir, missing, len(imgs), mdir, imgs[first], byPos[first]))
			found = byPos
		}
	}
	for i, im := range imgs {
		p := filepath.Join(tdir, im)
		if found[i] == "" {
			c.Problems = append(c.Problems, &SampleError{Class: c.Name, Path: p,
				Err: fmt.Errorf("%w: expected %s", ErrNoMask, filepath.Join(mdir, strings.TrimSuffix(im, filepath.Ext(im))+"_mask.png"))})
			continue
		}
		c.Test = append(c.Test, Sample{Class: c.Name, Path: p, MaskPath: filepath.Join(mdir, found[i]), DefectType: t, Anomalous: true, Split: SplitTest,
			Key: key(SplitTest, t, im)})
	}
}

// pairByPosition returns the mask images of mdir in sorted order when there are as
// many as byName (the masks found by name of the sorted images, "" where none) and
// each mask found by name sits at its image's position; else nil.
func pairByPosition(mdir string, byName []string) []string {
	ms, err := listImages(mdir)
	if err != nil || len(ms) != len(byName) {
		return nil
	}
	for i, m := range byName {
		if m != "" && m != ms[i] {
			return nil
		}
	}
	return ms
}
