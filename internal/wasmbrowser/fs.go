package wasmbrowser

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"syscall"
)

// tree is the directory tree served read-only to the test binary's file system
// (assets/fs.js): its routes take the absolute path the binary sees, which is the
// path on this machine, and answer only for paths inside the tree. os.Root keeps
// every access inside it, symbolic links included.
type tree struct {
	dir  string   // the tree's root, absolute
	root *os.Root // dir, opened
}

// openTree opens the tree that serves the working directory dir: the module root
// above it, the nearest directory at or above dir holding a go.mod file, or dir
// itself when there is none.
func openTree(dir string) (*tree, string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, "", fmt.Errorf("wasmbrowser: file system: %w", err)
	}
	if st, err := os.Stat(abs); err != nil {
		return nil, "", fmt.Errorf("wasmbrowser: file system: %w", err)
	} else if !st.IsDir() {
		return nil, "", fmt.Errorf("wasmbrowser: file system: %s is not a directory", abs)
	}
	top := moduleRoot(abs)
	root, err := os.OpenRoot(top)
	if err != nil {
		return nil, "", fmt.Errorf("wasmbrowser: file system: %w", err)
	}
	return &tree{dir: top, root: root}, abs, nil
}

// moduleRoot returns the nearest directory at or above dir holding go.mod, or dir.
func moduleRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if st, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && !st.IsDir() {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// Close closes the tree's root.
func (t *tree) Close() error { return t.root.Close() }

// rel maps the path the binary asked for to a path inside the tree. It refuses
// anything but a clean absolute path inside the tree: the worker resolves relative
// paths and dot-dot elements before asking, so any other request is an escape.
func (t *tree) rel(p string) (string, bool) {
	p = filepath.FromSlash(p)
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return "", false
	}
	r, err := filepath.Rel(t.dir, p)
	if err != nil || !filepath.IsLocal(r) {
		return "", false
	}
	return r, true
}

// errnoCode names err as a Node error code that syscall/fs_js.go maps back to an
// errno: ENOENT, ENOTDIR, or EACCES for everything else (a permission, a symbolic
// link leading out of the tree).
func errnoCode(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "ENOENT"
	case errors.Is(err, syscall.ENOTDIR):
		return "ENOTDIR"
	}
	return "EACCES"
}

// statReply is the answer of the stat route: Code alone on failure.
type statReply struct {
	Code    string   `json:"code,omitempty"`    // a Node error code (ENOENT ...)
	Mode    uint32   `json:"mode,omitempty"`    // permission and S_IFDIR or S_IFREG bits
	Size    int64    `json:"size"`              // in bytes
	MtimeMs int64    `json:"mtimeMs,omitempty"` // modification time, Unix milliseconds
	Entries []string `json:"entries,omitempty"` // a directory's names, sorted
}

// Node's (and syscall's on js) file type bits.
const (
	sIFREG = 0o100000
	sIFDIR = 0o040000
)

// stat describes the path p (absolute, as the binary sees it).
func (t *tree) stat(p string) statReply {
	r, ok := t.rel(p)
	if !ok {
		return statReply{Code: "EACCES"}
	}
	st, err := t.root.Stat(r)
	if err != nil {
		return statReply{Code: errnoCode(err)}
	}
	rep := statReply{Mode: uint32(st.Mode().Perm()) | sIFREG, Size: st.Size(), MtimeMs: st.ModTime().UnixMilli()}
	if !st.IsDir() {
		if !st.Mode().IsRegular() {
			return statReply{Code: "EACCES"}
		}
		return rep
	}
	rep.Mode = uint32(st.Mode().Perm()) | sIFDIR
	d, err := t.root.Open(r)
	if err != nil {
		return statReply{Code: errnoCode(err)}
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return statReply{Code: errnoCode(err)}
	}
	slices.Sort(names)
	rep.Entries = append([]string{}, names...)
	return rep
}

// serveStat answers GET /fs/stat?path=P with a statReply.
func (t *tree) serveStat(w http.ResponseWriter, r *http.Request) {
	b, err := json.Marshal(t.stat(r.URL.Query().Get("path")))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// serveRead answers GET /fs/read?path=P with the bytes of a regular file, honouring
// a Range header; on failure the status is 404 and the body a Node error code.
func (t *tree) serveRead(w http.ResponseWriter, r *http.Request) {
	fail := func(code string) { http.Error(w, code, http.StatusNotFound) }
	rel, ok := t.rel(r.URL.Query().Get("path"))
	if !ok {
		fail("EACCES")
		return
	}
	f, err := t.root.Open(rel)
	if err != nil {
		fail(errnoCode(err))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	switch {
	case err != nil:
		fail(errnoCode(err))
	case st.IsDir():
		fail("EISDIR")
	case !st.Mode().IsRegular():
		fail("EACCES")
	default:
		w.Header().Set("Content-Type", "application/octet-stream")
		http.ServeContent(w, r, "", st.ModTime(), f)
	}
}
