package wasmbrowser

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// bigFileSize is the size of the probe module's big file: more than two of the
// worker's 1 MiB read chunks, and not a multiple of one.
const bigFileSize = 2<<20 + 12345

// bigFileByte is byte i of the big file; the probe checks it at many offsets.
func bigFileByte(i int) byte { return byte(i*7 + i>>11) }

// fsModule is a module whose tests read its files from the browser's file system
// and try to leave it; -probe.cwd gives them the expected working directory.
var fsModule = map[string]string{
	"go.mod":            "module example.com/wasmbrowserfs\n\ngo 1.26\n",
	"testdata/greeting": "hello from the module\n",
	"fs_test.go": `package probe

import (
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"syscall"
	"testing"
)

var wantCwd = flag.String("probe.cwd", "", "the expected working directory")

func TestReadsFiles(t *testing.T) {
	if wd, err := os.Getwd(); err != nil || wd != *wantCwd {
		t.Errorf("Getwd = %q, %v; want %q", wd, err, *wantCwd)
	}
	b, err := os.ReadFile("testdata/greeting")
	if err != nil || string(b) != "hello from the module\n" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
	entries, err := os.ReadDir("testdata")
	if err != nil || len(entries) != 2 || entries[0].Name() != "big" || entries[1].Name() != "greeting" || entries[0].IsDir() {
		t.Fatalf("ReadDir = %v, %v; want the files big and greeting", entries, err)
	}
	if st, err := os.Stat("testdata"); err != nil || !st.IsDir() {
		t.Fatalf("Stat(testdata) = %v, %v; want a directory", st, err)
	}
	t.Logf("read %q and listed testdata in %s", b, *wantCwd)
}

func bigByte(i int) byte { return byte(i*7 + i>>11) }

func TestReadsBigFile(t *testing.T) {
	f, err := os.Open("testdata/big")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() != BIGSIZE || !st.Mode().IsRegular() {
		t.Fatalf("Stat = %v, %v; want a regular file of BIGSIZE bytes", st, err)
	}
	all, err := io.ReadAll(f)
	if err != nil || len(all) != BIGSIZE {
		t.Fatalf("ReadAll: %d bytes, %v", len(all), err)
	}
	for i, c := range all {
		if c != bigByte(i) {
			t.Fatalf("byte %d = %d, want %d", i, c, bigByte(i))
		}
	}
	buf := make([]byte, 5000)
	for _, off := range []int64{BIGSIZE - 100, 0, 1<<20 - 10, 1 << 21, 777} {
		n, err := f.ReadAt(buf, off)
		want := min(len(buf), BIGSIZE-int(off))
		if n != want || (err != nil && !(err == io.EOF && want < len(buf))) {
			t.Fatalf("ReadAt(%d) = %d, %v; want %d bytes", off, n, err, want)
		}
		for i := range n {
			if buf[i] != bigByte(int(off)+i) {
				t.Fatalf("ReadAt(%d): byte %d wrong", off, i)
			}
		}
	}
}

func TestMissingFile(t *testing.T) {
	_, err := os.ReadFile("testdata/missing")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile(missing) error %v, want ENOENT", err)
	}
	t.Log(err)
}

func TestNoEscape(t *testing.T) {
	for _, p := range []string{"../secret", "testdata/../../secret", "escape", "/etc/passwd", "/"} {
		b, err := os.ReadFile(p)
		if err == nil || len(b) != 0 {
			t.Errorf("ReadFile(%s) = %q, %v; want an error", p, b, err)
		}
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("ReadFile(%s) error %v, want EACCES", p, err)
		}
		t.Log(err)
	}
	if _, err := os.Stat("../secret"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Stat(../secret) error %v, want EACCES", err)
	}
}

func TestReadOnly(t *testing.T) {
	if err := os.WriteFile("testdata/greeting", []byte("overwritten"), 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("WriteFile error %v, want EROFS", err)
	}
	if _, err := os.Create("testdata/new"); !errors.Is(err, syscall.EROFS) {
		t.Errorf("Create error %v, want EROFS", err)
	}
	if err := os.Mkdir("testdata/dir", 0o755); err == nil {
		t.Error("Mkdir succeeded")
	}
	f, err := os.Open("testdata/greeting")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write([]byte("x")); err == nil {
		t.Error("writing a file opened for reading succeeded")
	}
}
`,
}

// writeFSModule writes fsModule under dir/mod with its big file, a secret beside
// the module and a symbolic link from the module to the secret, and returns the
// module's directory.
func writeFSModule(t *testing.T, dir string) string {
	t.Helper()
	mod := filepath.Join(dir, "mod")
	big := make([]byte, bigFileSize)
	for i := range big {
		big[i] = bigFileByte(i)
	}
	files := map[string][]byte{"secret": []byte("outside the module"), "mod/testdata/big": big}
	for name, src := range fsModule {
		files["mod/"+name] = []byte(strings.ReplaceAll(src, "BIGSIZE", "2<<20+12345"))
	}
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "secret"), filepath.Join(mod, "escape")); err != nil {
		t.Fatal(err)
	}
	return mod
}

// The browser's file system: the binary reads files of its module (small and
// big, whole and at offsets) and lists directories from its package's working
// directory, a missing file is ENOENT, and a path out of the module (dot-dot, an
// absolute path, a symbolic link) is EACCES and writing EROFS.
func TestFileSystemInChromium(t *testing.T) {
	if bigFileSize != 2<<20+12345 {
		t.Fatal("bigFileSize and the probe's BIGSIZE differ")
	}
	requireChromium(t)
	mod := writeFSModule(t, t.TempDir())
	wasm, glue := build(t, mod)
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	start := time.Now()
	out, code, err := RunTestBinaryWith(ctx, wasm, glue, []string{"-test.v", "-probe.cwd=" + filepath.ToSlash(mod)}, Options{Dir: mod})
	t.Logf("ran the file system probe in Chromium in %v: exit code %d", time.Since(start).Round(time.Millisecond), code)
	if err != nil {
		t.Fatalf("%v\noutput:\n%s", err, out)
	}
	if code != 0 {
		t.Fatalf("exit code %d, want 0; output:\n%s", code, out)
	}
	for _, name := range []string{"TestReadsFiles", "TestReadsBigFile", "TestMissingFile", "TestNoEscape", "TestReadOnly"} {
		if !strings.Contains(out, "--- PASS: "+name+" ") {
			t.Errorf("%s did not run and pass; output:\n%s", name, out)
		}
	}
	if strings.Contains(out, "outside the module") {
		t.Errorf("the secret outside the module reached the binary; output:\n%s", out)
	}
	if testing.Verbose() {
		t.Logf("in Chromium:\n%s", out)
	}
}

// The server's file system routes answer only for clean absolute paths inside the
// tree, whatever the worker asks: no dot-dot, no relative path, no symbolic link
// out, no directory read as a file.
func TestTreeRoutes(t *testing.T) {
	dir := t.TempDir()
	mod := writeFSModule(t, dir)
	files, cwd, err := openTree(filepath.Join(mod, "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	if files.dir != mod || cwd != filepath.Join(mod, "testdata") {
		t.Fatalf("tree %s, cwd %s; want the module %s and its testdata", files.dir, cwd, mod)
	}
	srv := httptest.NewServer(handler("", nil, []byte("{}"), files))
	defer srv.Close()

	in := func(name string) string { return filepath.ToSlash(filepath.Join(mod, name)) }
	for _, c := range []struct{ path, code string }{
		{in("testdata/greeting"), ""},
		{in("testdata"), ""},
		{in("testdata/missing"), "ENOENT"},
		{in("testdata/greeting/x"), "ENOTDIR"},
		{in("escape"), "EACCES"},
		{filepath.ToSlash(mod) + "/../secret", "EACCES"},
		{in("testdata") + "/../../secret", "EACCES"},
		{in("testdata") + "/../testdata/greeting", "EACCES"}, // inside, but the worker sends clean paths only
		{filepath.ToSlash(filepath.Join(dir, "secret")), "EACCES"},
		{"testdata/greeting", "EACCES"},
		{"/etc/passwd", "EACCES"},
		{"", "EACCES"},
	} {
		var rep statReply
		get(t, srv.URL+"/fs/stat?path="+url.QueryEscape(c.path), "", &rep)
		if rep.Code != c.code {
			t.Errorf("stat %q: code %q, want %q", c.path, rep.Code, c.code)
		}
		if c.code != "" {
			if status, body := get(t, srv.URL+"/fs/read?path="+url.QueryEscape(c.path), "", nil); status != http.StatusNotFound || body != c.code {
				t.Errorf("read %q: %d %q, want 404 %q", c.path, status, body, c.code)
			}
		}
	}

	var rep statReply
	get(t, srv.URL+"/fs/stat?path="+url.QueryEscape(in("testdata")), "", &rep)
	if rep.Mode&0o170000 != sIFDIR || !slices.Equal(rep.Entries, []string{"big", "greeting"}) {
		t.Errorf("stat testdata: mode %o, entries %q; want a directory with big and greeting", rep.Mode, rep.Entries)
	}
	rep = statReply{}
	get(t, srv.URL+"/fs/stat?path="+url.QueryEscape(in("testdata/big")), "", &rep)
	if rep.Mode&0o170000 != sIFREG || rep.Size != bigFileSize || rep.Entries != nil {
		t.Errorf("stat big: %+v; want a regular file of %d bytes", rep, bigFileSize)
	}
	if status, body := get(t, srv.URL+"/fs/read?path="+url.QueryEscape(in("testdata/big")), "bytes=1000-1003", nil); status != http.StatusPartialContent ||
		body != string([]byte{bigFileByte(1000), bigFileByte(1001), bigFileByte(1002), bigFileByte(1003)}) {
		t.Errorf("read big at 1000: %d %q", status, body)
	}
	if status, body := get(t, srv.URL+"/fs/read?path="+url.QueryEscape(in("testdata")), "", nil); status != http.StatusNotFound || body != "EISDIR" {
		t.Errorf("read testdata: %d %q, want 404 EISDIR", status, body)
	}
}

// get fetches u (with a Range header when rng is not empty), decodes a JSON body
// into v when v is not nil, and returns the status and the trimmed body.
func get(t *testing.T, u, rng string, v any) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v: %s", u, err, b)
		}
	}
	return resp.StatusCode, strings.TrimSpace(string(b))
}
