package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Spec is a profile's description, the "json" field of an upload and the
// profile.json of its folder. Backbone and Head name files in the server's weights
// folder (Config.Weights): plain names, never paths.
type Spec struct {
	Name      string    `json:"name"`
	Backbone  string    `json:"backbone"`
	Head      string    `json:"head,omitempty"`
	Size      int       `json:"size,omitempty"`
	Threshold float32   `json:"threshold"`
	Normal    []string  `json:"normal,omitempty"`   // stored file names (set by the server)
	Abnormal  []RefFile `json:"abnormal,omitempty"` // stored file names (set by the server)
	Created   time.Time `json:"created"`
}

// RefFile is an abnormal reference's stored image and mask.
type RefFile struct {
	Image string `json:"image"`
	Mask  string `json:"mask"`
}

// upload is a profile's spec and its images in memory.
type upload struct {
	spec     Spec
	normal   [][]byte
	abnormal [][]byte
	masks    [][]byte
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// ErrBadName is the error for a profile or weight-file name that is not a plain name.
var ErrBadName = errors.New("a name is 1 to 64 letters, digits, '-' or '_', starting with a letter or digit")

// validName reports whether name is a profile name.
func validName(name string) bool { return nameRE.MatchString(name) }

// validFile reports whether name is a plain file name of the weights folder.
func validFile(name string) bool {
	return name != "" && len(name) <= 128 && !strings.ContainsAny(name, "/\\\x00") &&
		!strings.HasPrefix(name, ".") && filepath.Base(name) == name
}

// store keeps profiles under dir/profiles, one folder per profile. A profile is
// written into a temporary folder (.tmp-*) and renamed into place; a replaced one is
// first renamed aside (.old-NAME), so that a crash at any moment leaves each profile
// complete (new or old) or absent, and open repairs what a crash left.
type store struct {
	dir string
	// hook, when set (tests), runs at the stages "written" (the files are written, the
	// folder not yet renamed) and "aside" (a replaced profile renamed aside, the new
	// one not yet in place).
	hook func(stage string)
}

func openStore(dir string) (*store, error) {
	s := &store{dir: filepath.Join(dir, "profiles")}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, ".tmp-"):
			os.RemoveAll(filepath.Join(s.dir, n))
		case strings.HasPrefix(n, ".old-"):
			s.repairOld(n)
		}
	}
	return s, nil
}

// repairOld finishes a replacement that a crash interrupted: the old folder comes
// back when the new one never arrived, else it goes.
func (s *store) repairOld(old string) {
	name := strings.TrimPrefix(old, ".old-")
	if _, err := os.Stat(filepath.Join(s.dir, name, "profile.json")); err == nil || !validName(name) {
		os.RemoveAll(filepath.Join(s.dir, old))
		return
	}
	os.Rename(filepath.Join(s.dir, old), filepath.Join(s.dir, name))
}

// save writes u durably as profile u.spec.Name, replacing any other of that name, and
// returns the spec as stored.
func (s *store) save(u *upload) (Spec, error) {
	tmp, err := os.MkdirTemp(s.dir, ".tmp-")
	if err != nil {
		return Spec{}, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	spec := u.spec
	spec.Normal, spec.Abnormal = nil, nil
	for i, b := range u.normal {
		spec.Normal = append(spec.Normal, fmt.Sprintf("normal-%03d.img", i))
		if err := writeSynced(filepath.Join(tmp, spec.Normal[i]), b); err != nil {
			return Spec{}, err
		}
	}
	for i, b := range u.abnormal {
		f := RefFile{fmt.Sprintf("abnormal-%03d.img", i), fmt.Sprintf("mask-%03d.img", i)}
		spec.Abnormal = append(spec.Abnormal, f)
		if err := writeSynced(filepath.Join(tmp, f.Image), b); err != nil {
			return Spec{}, err
		}
		if err := writeSynced(filepath.Join(tmp, f.Mask), u.masks[i]); err != nil {
			return Spec{}, err
		}
	}
	js, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return Spec{}, err
	}
	if err := writeSynced(filepath.Join(tmp, "profile.json"), js); err != nil {
		return Spec{}, err
	}
	if err := syncDir(tmp); err != nil {
		return Spec{}, err
	}
	if s.hook != nil {
		s.hook("written")
	}
	if err := s.install(tmp, spec.Name); err != nil {
		return Spec{}, err
	}
	ok = true
	return spec, nil
}

// install renames the folder tmp into place as profile name.
func (s *store) install(tmp, name string) error {
	final, old := filepath.Join(s.dir, name), filepath.Join(s.dir, ".old-"+name)
	os.RemoveAll(old)
	replaced := false
	if err := os.Rename(final, old); err == nil {
		replaced = true
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if replaced && s.hook != nil {
		s.hook("aside")
	}
	if err := os.Rename(tmp, final); err != nil {
		if replaced {
			os.Rename(old, final)
		}
		return err
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

// remove deletes profile name; false when there was none.
func (s *store) remove(name string) (bool, error) {
	final := filepath.Join(s.dir, name)
	if _, err := os.Stat(final); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	gone := filepath.Join(s.dir, ".tmp-del-"+name)
	if err := os.Rename(final, gone); err != nil {
		return false, err
	}
	syncDir(s.dir)
	return true, os.RemoveAll(gone)
}

// list reads every stored profile.
func (s *store) list() ([]*upload, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []*upload
	for _, e := range ents {
		if !e.IsDir() || !validName(e.Name()) {
			continue
		}
		u, err := s.read(e.Name())
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", e.Name(), err)
		}
		out = append(out, u)
	}
	return out, nil
}

// read loads profile name's spec and images.
func (s *store) read(name string) (*upload, error) {
	dir := filepath.Join(s.dir, name)
	js, err := os.ReadFile(filepath.Join(dir, "profile.json"))
	if err != nil {
		return nil, err
	}
	u := &upload{}
	if err := json.Unmarshal(js, &u.spec); err != nil {
		return nil, err
	}
	u.spec.Name = name
	rd := func(f string) ([]byte, error) {
		if !validFile(f) {
			return nil, fmt.Errorf("bad file name %q in profile.json", f)
		}
		return os.ReadFile(filepath.Join(dir, f))
	}
	for _, f := range u.spec.Normal {
		b, err := rd(f)
		if err != nil {
			return nil, err
		}
		u.normal = append(u.normal, b)
	}
	for _, f := range u.spec.Abnormal {
		b, err := rd(f.Image)
		if err != nil {
			return nil, err
		}
		m, err := rd(f.Mask)
		if err != nil {
			return nil, err
		}
		u.abnormal, u.masks = append(u.abnormal, b), append(u.masks, m)
	}
	return u, nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
