package shaders

import (
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

//go:embed *.comp *.glsl
var files embed.FS

// FS is the embedded shader tree.
func FS() fs.FS { return files }

// Define is one preprocessor definition inserted after #version: `#define Name Value`.
type Define struct {
	Name  string
	Value string
}

// Expanded is a shader ready to compile: the text, the files it was made of
// (Files[0] being the .comp itself) and, for each line of the text, where it came
// from, so that compiler messages, which count lines of the whole text, can name the
// file and line (Where).
type Expanded struct {
	Text  string
	Files []string
	lines []origin
}

type origin struct {
	file string
	line int
}

// Where names the origin of line n (1-based) of the expanded text, as "file:line";
// the inserted #defines are "<defines>".
func (e Expanded) Where(n int) string {
	if n < 1 || n > len(e.lines) {
		return fmt.Sprintf("%s:?%d", e.Files[0], n)
	}
	o := e.lines[n-1]
	if o.line == 0 {
		return o.file
	}
	return fmt.Sprintf("%s:%d", o.file, o.line)
}

// Source expands the embedded shader name (e.g. "matmul.comp") with the given defines.
func Source(name string, defs ...Define) (Expanded, error) { return Expand(files, name, defs...) }

// Expand reads name from fsys, inserts defs after its first line (which must be a
// #version directive) and replaces every line `#include "x.glsl"` by the expanded
// contents of x.glsl (relative to the root of fsys). A file already included is not
// included again (include-once), so shared files may include each other freely. A
// missing or unreadable file, a malformed #include or a missing #version is an error
// naming the including file and line.
func Expand(fsys fs.FS, name string, defs ...Define) (Expanded, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return Expanded{}, fmt.Errorf("shaders: %w", err)
	}
	first, rest, _ := strings.Cut(string(src), "\n")
	if !strings.HasPrefix(strings.TrimSpace(first), "#version ") {
		return Expanded{}, fmt.Errorf("shaders: %s: the first line must be a #version directive, got %q", name, first)
	}
	e := &expander{fsys: fsys, out: Expanded{Files: []string{name}}}
	e.emit(strings.TrimSpace(first), origin{name, 1})
	for _, d := range defs {
		if d.Name == "" || strings.ContainsAny(d.Name+d.Value, "\n\r") {
			return Expanded{}, fmt.Errorf("shaders: %s: bad define %q = %q", name, d.Name, d.Value)
		}
		e.emit(fmt.Sprintf("#define %s %s", d.Name, d.Value), origin{"<defines>", 0})
	}
	if err := e.body(name, 2, rest); err != nil {
		return Expanded{}, err
	}
	e.out.Text = e.b.String()
	return e.out, nil
}

type expander struct {
	fsys fs.FS
	b    strings.Builder
	out  Expanded
}

func (e *expander) emit(line string, o origin) {
	e.b.WriteString(line)
	e.b.WriteByte('\n')
	e.out.lines = append(e.out.lines, o)
}

// body emits text, the contents of file starting at line firstLine, expanding
// includes.
func (e *expander) body(file string, firstLine int, text string) error {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for i, line := range lines {
		at := origin{file, firstLine + i}
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "#include") {
			e.emit(line, at)
			continue
		}
		arg := strings.TrimSpace(strings.TrimPrefix(trimmed, "#include"))
		if len(arg) < 3 || arg[0] != '"' || arg[len(arg)-1] != '"' || strings.Contains(arg[1:len(arg)-1], "\"") {
			return fmt.Errorf("shaders: %s:%d: malformed include %q, want #include \"file.glsl\"", file, at.line, trimmed)
		}
		inc := arg[1 : len(arg)-1]
		if slices.Contains(e.out.Files, inc) {
			e.emit("", at) // include-once
			continue
		}
		data, err := fs.ReadFile(e.fsys, inc)
		if err != nil {
			return fmt.Errorf("shaders: %s:%d: include %q: %w", file, at.line, inc, err)
		}
		e.out.Files = append(e.out.Files, inc)
		if err := e.body(inc, 1, string(data)); err != nil {
			return err
		}
	}
	return nil
}
