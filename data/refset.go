package data

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode"
)

// Refs are the fixed references of one class.
type Refs struct {
	Class    string
	Normal   []Sample // sorted by path
	Abnormal []Sample // sorted by path, each with MaskPath; DefectType "" when unknown
}

// ReadRefSet reads a fixed reference set (see the package comment): the classes of
// root/<dataset>, where the folder's name is the first of names found (compared
// ignoring case, '_', '-' and spaces; RefSetNames gives a data set's), or of root
// itself when it holds the class folders. Every abnormal reference must have its
// mask beside it.
func ReadRefSet(root string, names ...string) (map[string]*Refs, error) {
	dir, err := refSetDir(root, names)
	if err != nil {
		return nil, err
	}
	classes, err := listDirs(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]*Refs{}
	for _, c := range classes {
		cdir := filepath.Join(dir, c)
		if !dirExists(filepath.Join(cdir, "normal")) && !dirExists(filepath.Join(cdir, "abnormal")) {
			continue
		}
		r, err := readRefClass(cdir, c)
		if err != nil {
			return nil, err
		}
		out[c] = r
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("data: no reference class in %s: expected <class>/normal/ and <class>/abnormal/; found %s", dir, describeDir(dir))
	}
	return out, nil
}

// refAliases are the folder names of the authors' reference download (and of their
// data sets) for each format.
var refAliases = map[string][]string{
	FormatMVTec: {"MVTecAD", "MVTec"},
	FormatVisA:  {"VisA"},
	FormatMPDD:  {"MPDD"},
	FormatBTAD:  {"BTAD"},
}

// refName normalises a data set's folder name: lower case, without '_', '-' and spaces.
func refName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r == ' ' {
			return -1
		}
		return unicode.ToLower(r)
	}, s)
}

// RefSetNames returns the names under which a reference set may hold ds's classes,
// preferred first: the name of its root folder (AITEX, BraTS, Liver, RESC, ... in the
// authors' layout DATA/<dataset>/meta.json), then its format's (MVTecAD and MVTec for
// mvtec, VisA, BTAD, MPDD).
func RefSetNames(ds *Dataset) []string {
	var out []string
	if b := filepath.Base(filepath.Clean(ds.Root)); b != "." && b != ".." && b != string(filepath.Separator) {
		out = append(out, b)
	}
	for _, n := range refAliases[ds.Format] {
		if !slices.ContainsFunc(out, func(m string) bool { return refName(m) == refName(n) }) {
			out = append(out, n)
		}
	}
	return out
}

func refSetDir(root string, names []string) (string, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return "", fmt.Errorf("data: reference set: %w", err)
	}
	for _, n := range names { // in order of preference
		for _, e := range ents {
			if n != "" && refName(e.Name()) == refName(n) && isDir(root, e) {
				return filepath.Join(root, e.Name()), nil
			}
		}
	}
	for _, e := range ents {
		d := filepath.Join(root, e.Name())
		if isDir(root, e) && (dirExists(filepath.Join(d, "normal")) || dirExists(filepath.Join(d, "abnormal"))) {
			return root, nil
		}
	}
	ds := "<dataset>/<class>/{normal,abnormal}/ with <dataset> one of " + strings.Join(names, ", ") + " (ignoring case)"
	if len(names) == 0 {
		ds = "<dataset>/<class>/{normal,abnormal}/ (no name known for this data set)"
	}
	return "", fmt.Errorf("data: reference set %s: expected %s, or <class>/{normal,abnormal}/ (give the data set's folder as the root); found %s",
		root, ds, describeDir(root))
}

func readRefClass(dir, class string) (*Refs, error) {
	r := &Refs{Class: class}
	if nd := filepath.Join(dir, "normal"); dirExists(nd) {
		imgs, err := listImages(nd)
		if err != nil {
			return nil, err
		}
		for _, im := range imgs {
			if !isMaskName(im) {
				r.Normal = append(r.Normal, Sample{Class: class, Path: filepath.Join(nd, im), DefectType: Good, Split: SplitRef,
					Key: key(SplitRef, "normal", im)})
			}
		}
	}
	ad := filepath.Join(dir, "abnormal")
	if dirExists(ad) {
		if err := readRefAbnormal(r, ad, ""); err != nil {
			return nil, err
		}
		types, err := listDirs(ad)
		if err != nil {
			return nil, err
		}
		for _, t := range types {
			if err := readRefAbnormal(r, filepath.Join(ad, t), t); err != nil {
				return nil, err
			}
		}
	}
	if len(r.Normal)+len(r.Abnormal) == 0 {
		return nil, fmt.Errorf("data: reference class %s: no images in %s/normal or %s/abnormal", class, dir, dir)
	}
	sortSamples(r.Normal)
	sortSamples(r.Abnormal)
	return r, nil
}

// readRefAbnormal adds the abnormal references of one folder, each with its mask
// <name>_mask.<ext> beside it.
func readRefAbnormal(r *Refs, dir, defect string) error {
	imgs, err := listImages(dir)
	if err != nil {
		return err
	}
	masks := map[string]string{} // lower-cased stem without _mask → file name
	for _, im := range imgs {
		if isMaskName(im) {
			stem := strings.TrimSuffix(im, filepath.Ext(im))
			masks[strings.ToLower(stem[:len(stem)-len("_mask")])] = im
		}
	}
	for _, im := range imgs {
		if isMaskName(im) {
			continue
		}
		stem := strings.TrimSuffix(im, filepath.Ext(im))
		m, ok := masks[strings.ToLower(stem)]
		if !ok {
			return fmt.Errorf("data: reference class %s: %s: %w: expected %s beside it",
				r.Class, filepath.Join(dir, im), ErrNoMask, stem+"_mask.png")
		}
		r.Abnormal = append(r.Abnormal, Sample{Class: r.Class, Path: filepath.Join(dir, im), MaskPath: filepath.Join(dir, m),
			DefectType: defect, Anomalous: true, Split: SplitRef, Key: key(SplitRef, "abnormal", im)})
	}
	return nil
}

// contentKey identifies a file by its size and SHA-256.
type contentKey struct {
	size int64
	sum  [sha256.Size]byte
}

func fileKey(path string) (contentKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return contentKey{}, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return contentKey{}, fmt.Errorf("data: reading %s: %w", path, err)
	}
	var k contentKey
	k.size = n
	h.Sum(k.sum[:0])
	return k, nil
}

// matchContent returns, for each reference, the index in pool of the image with the
// same content, or -1. Only pool images with the size of some reference are read.
func matchContent(refs, pool []Sample) ([]int, error) {
	match := make([]int, len(refs))
	keys := make([]contentKey, len(refs))
	sizes := map[int64]bool{}
	for i, r := range refs {
		match[i] = -1
		k, err := fileKey(r.Path)
		if err != nil {
			return nil, err
		}
		keys[i] = k
		sizes[k.size] = true
	}
	for j, s := range pool {
		st, err := os.Stat(s.Path)
		if err != nil || !sizes[st.Size()] {
			continue // an unreadable query is reported where it is decoded
		}
		k, err := fileKey(s.Path)
		if err != nil {
			continue
		}
		for i := range refs {
			if match[i] < 0 && keys[i] == k {
				match[i] = j
			}
		}
	}
	return match, nil
}

func sortedKeys(m map[string][]Sample) []string {
	k := make([]string, 0, len(m))
	for t := range m {
		k = append(k, t)
	}
	sort.Strings(k)
	return k
}
