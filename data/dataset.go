package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// The data set formats Open reads (see the package comment).
const (
	FormatMVTec  = "mvtec"
	FormatVisA   = "visa"
	FormatMPDD   = "mpdd"
	FormatBTAD   = "btad"
	FormatFolder = "folder"
	FormatMeta   = "meta" // the authors' meta.json (OpenMeta)
)

// Formats lists the formats Open accepts.
var Formats = []string{FormatMVTec, FormatVisA, FormatMPDD, FormatBTAD, FormatFolder, FormatMeta}

// Splits of a sample.
const (
	SplitTrain = "train"
	SplitTest  = "test"
	SplitRef   = "ref" // an image of a fixed reference set (ReadRefSet)
)

// Good is the defect type of every normal image.
const Good = "good"

// Sample is one image of a data set, by path.
type Sample struct {
	Class      string
	Path       string // image file
	MaskPath   string // defect mask; "" for normal images
	DefectType string // Good for normal images, else the defect type ("" if unknown)
	Anomalous  bool
	Split      string // SplitTrain, SplitTest or SplitRef
	// Key names the image in an MVTec-style tree, relative to its class and without
	// extension: <split>/<folder>/<name>, e.g. "test/crack/003". In MVTec-like layouts
	// the folder is the one on disk (BTAD's normal images: "test/ok/0000"); raw VisA
	// uses good and bad, the folder layout good and the defect type. Anomaly-map trees
	// (MAPS/<class>/<Key>.tiff) use it. Open keeps it unique within a class (a second
	// image differing only by its extension is left out as a problem).
	Key string
}

// stem returns a file name without folder and extension.
func stem(p string) string {
	b := filepath.Base(p)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// key returns a Sample.Key.
func key(split, folder, path string) string { return split + "/" + folder + "/" + stem(path) }

// SampleError is a problem with one image: the image was left out of its class.
type SampleError struct {
	Class string
	Path  string // the image (or CSV row) concerned
	Err   error
}

func (e *SampleError) Error() string {
	return fmt.Sprintf("data: class %s: %s: %v", e.Class, e.Path, e.Err)
}

func (e *SampleError) Unwrap() error { return e.Err }

// ErrNoMask is the error of an anomalous image whose mask cannot be found.
var ErrNoMask = errors.New("anomalous image has no mask")

// Class is one product of a data set.
type Class struct {
	Name     string
	Train    []Sample       // training images (normal), sorted by path
	Test     []Sample       // test images, normal and anomalous, sorted by path
	Problems []*SampleError // images left out, with the reason
	// Warnings are what was read differently from the layout's rule (masks paired
	// with their images by sorted position), one line each.
	Warnings []string
}

// Normal returns the class's normal test images.
func (c *Class) Normal() []Sample { return filter(c.Test, func(s Sample) bool { return !s.Anomalous }) }

// Anomalous returns the class's anomalous test images.
func (c *Class) Anomalous() []Sample {
	return filter(c.Test, func(s Sample) bool { return s.Anomalous })
}

// DefectTypes returns the sorted distinct defect types of the anomalous test images.
func (c *Class) DefectTypes() []string {
	var t []string
	for _, s := range c.Test {
		if s.Anomalous && !slices.Contains(t, s.DefectType) {
			t = append(t, s.DefectType)
		}
	}
	sort.Strings(t)
	return t
}

func filter(in []Sample, keep func(Sample) bool) []Sample {
	var out []Sample
	for _, s := range in {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// Dataset is a data set read by Open.
type Dataset struct {
	Root    string
	Format  string
	Classes []Class // sorted by name
}

// Class returns the class with the given name, or nil.
func (d *Dataset) Class(name string) *Class {
	for i := range d.Classes {
		if d.Classes[i].Name == name {
			return &d.Classes[i]
		}
	}
	return nil
}

// Problems returns the images left out of every class, in class order.
func (d *Dataset) Problems() []*SampleError {
	var p []*SampleError
	for _, c := range d.Classes {
		p = append(p, c.Problems...)
	}
	return p
}

// Warnings returns every class's warnings, each prefixed with "class NAME: ".
func (d *Dataset) Warnings() []string {
	var w []string
	for _, c := range d.Classes {
		for _, m := range c.Warnings {
			w = append(w, "class "+c.Name+": "+m)
		}
	}
	return w
}

// Open reads the data set at root in the given format (one of Formats). classes
// selects classes by name (all classes when empty); a class that is not there is an
// error that lists the classes found. FormatMeta reads root/meta.json (OpenMeta).
func Open(root, format string, classes []string) (*Dataset, error) {
	if err := checkRoot(root); err != nil {
		return nil, err
	}
	var cs []Class
	var err error
	switch format {
	case FormatMVTec, FormatMPDD:
		cs, err = readMVTecLike(root, format, mvtecNames, classes)
	case FormatBTAD:
		cs, err = readMVTecLike(root, format, btadNames, classes)
	case FormatVisA:
		cs, err = readVisA(root, classes)
	case FormatFolder:
		cs, err = readFolder(root, classes)
	case FormatMeta:
		cs, err = readMeta(root, filepath.Join(root, MetaFile), classes)
	default:
		return nil, fmt.Errorf("data: unknown format %q (want one of %s)", format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return nil, err
	}
	return finish(root, format, cs), nil
}

// checkRoot checks that a data set's root is a folder.
func checkRoot(root string) error {
	st, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("data: %s is not a folder", root)
	}
	return nil
}

// finish sorts the classes read and keeps their Keys unique.
func finish(root, format string, cs []Class) *Dataset {
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	for i := range cs {
		dropDuplicateKeys(&cs[i])
	}
	return &Dataset{Root: root, Format: format, Classes: cs}
}

// selectClasses checks that every wanted class is among found and returns the
// classes to read: wanted, or all of found when wanted is empty.
func selectClasses(root string, found, wanted []string, expected string) ([]string, error) {
	sort.Strings(found)
	if len(found) == 0 {
		return nil, fmt.Errorf("data: no class found in %s: expected %s; found %s", root, expected, describeDir(root))
	}
	if len(wanted) == 0 {
		return found, nil
	}
	var missing []string
	for _, w := range wanted {
		if !slices.Contains(found, w) {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("data: class %s not found in %s (classes found: %s)",
			strings.Join(missing, ", "), root, strings.Join(found, ", "))
	}
	out := slices.Clone(wanted)
	sort.Strings(out)
	return slices.Compact(out), nil
}

// dropDuplicateKeys leaves out the images whose Key repeats an earlier one of the class
// (two files that differ only by extension), keeping the Keys unique.
func dropDuplicateKeys(c *Class) {
	seen := map[string]string{}
	keep := func(in []Sample) []Sample {
		out := in[:0]
		for _, s := range in {
			if first, dup := seen[s.Key]; dup {
				c.Problems = append(c.Problems, &SampleError{Class: c.Name, Path: s.Path,
					Err: fmt.Errorf("same name as %s (images must differ by more than their extension)", first)})
				continue
			}
			seen[s.Key] = s.Path
			out = append(out, s)
		}
		return out
	}
	c.Train = keep(c.Train)
	c.Test = keep(c.Test)
}

// describeDir lists up to 12 entries of dir for an error message.
func describeDir(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Sprintf("(cannot list: %v)", err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() {
			n += "/"
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return "an empty folder"
	}
	if len(names) > 12 {
		names = append(names[:12], fmt.Sprintf("... (%d entries)", len(ents)))
	}
	return strings.Join(names, " ")
}

var imageExts = []string{".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}

// IsImageName reports whether name has an image extension Open recognises.
func IsImageName(name string) bool {
	return !strings.HasPrefix(name, ".") && slices.Contains(imageExts, strings.ToLower(filepath.Ext(name)))
}

// isMaskName reports whether an image name is a mask beside its image (<name>_mask.<ext>).
func isMaskName(name string) bool {
	return strings.HasSuffix(strings.ToLower(strings.TrimSuffix(name, filepath.Ext(name))), "_mask")
}

// listImages returns the sorted names of the image files in dir.
func listImages(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && IsImageName(e.Name()) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// listDirs returns the sorted names of the non-hidden sub-folders of dir.
func listDirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	var out []string
	for _, e := range ents {
		if isDir(dir, e) && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}

// isDir reports whether e is a folder, following a symbolic link.
func isDir(dir string, e fs.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&fs.ModeSymlink != 0 {
		st, err := os.Stat(filepath.Join(dir, e.Name()))
		return err == nil && st.IsDir()
	}
	return false
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// maskIndex maps the lower-cased names of the files in a mask folder to their names.
type maskIndex map[string]string

func readMaskIndex(dir string) maskIndex {
	idx := maskIndex{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return idx // a missing folder means every lookup fails, which is reported per image
	}
	for _, e := range ents {
		if !e.IsDir() {
			idx[strings.ToLower(e.Name())] = e.Name()
		}
	}
	return idx
}

// find returns the mask file name of the image imageName, or "".
func (m maskIndex) find(imageName string) string {
	ext := filepath.Ext(imageName)
	stem := strings.TrimSuffix(imageName, ext)
	for _, c := range []string{stem + "_mask.png", stem + ".png", stem + "_mask" + ext, stem + ext, stem + "_mask.bmp", stem + ".bmp"} {
		if n, ok := m[strings.ToLower(c)]; ok {
			return n
		}
	}
	return ""
}

// Detect guesses the format of the data set at root from its folders: VisA (a
// split_csv/1cls.csv or a 1cls/ folder), BTAD (classes with train/ok), MVTec (classes
// with train/good and test/; MPDD has the same layout and reads the same), the
// folder layout (normal/ or abnormal/ at the root or in its classes), or else meta
// (a meta.json naming test classes). It returns an error describing what it found
// when none fits.
func Detect(root string) (string, error) {
	if _, err := os.Stat(filepath.Join(root, "split_csv", "1cls.csv")); err == nil {
		return FormatVisA, nil
	}
	if dirExists(filepath.Join(root, "1cls")) {
		return FormatVisA, nil
	}
	if dirExists(filepath.Join(root, "normal")) || dirExists(filepath.Join(root, "abnormal")) {
		return FormatFolder, nil
	}
	dirs, err := listDirs(root)
	if err != nil {
		return "", err
	}
	for _, d := range dirs {
		c := filepath.Join(root, d)
		switch {
		case dirExists(filepath.Join(c, "train", "ok")) && dirExists(filepath.Join(c, "test")):
			return FormatBTAD, nil
		case dirExists(filepath.Join(c, "train", "good")) && dirExists(filepath.Join(c, "test")):
			return FormatMVTec, nil
		case dirExists(filepath.Join(c, "normal")) || dirExists(filepath.Join(c, "abnormal")):
			return FormatFolder, nil
		}
	}
	if len(metaClasses(filepath.Join(root, MetaFile))) > 0 {
		return FormatMeta, nil
	}
	return "", fmt.Errorf("data: cannot tell the format of %s: expected split_csv/1cls.csv (VisA), <class>/train/good + <class>/test (MVTec, MPDD, converted VisA), <class>/train/ok (BTAD), <class>/normal, <class>/abnormal (folder) or meta.json (meta); found %s",
		root, describeDir(root))
}
