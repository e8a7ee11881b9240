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

// Expanded is a shader ready to compile: the text, and the file behind each GLSL
// source-string number (the second number of a #line directive, which compilers
// print in their messages), Files[0] being the .comp itself.
type Expanded struct {
	Text  string
	Files []string
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
	e := &expander{fsys: fsys, files: []string{name}}
	e.b.WriteString(strings.TrimSpace(first) + "\n")
	for _, d := range defs {
		if d.Name == "" || strings.ContainsAny(d.Name+d.Value, "\n\r") {
			return Expanded{}, fmt.Errorf("shaders: %s: bad define %q = %q", name, d.Name, d.Value)
		}
		fmt.Fprintf(&e.b, "#define %s %s\n", d.Name, d.Value)
	}
	if err := e.body(0, 2, rest); err != nil {
		return Expanded{}, err
	}
	return Expanded{Text: e.b.String(), Files: e.files}, nil
}

type expander struct {
	fsys  fs.FS
	b     strings.Builder
	files []string
}

// body writes text, the contents of file number fileNo starting at line firstLine,
// expanding includes.
func (e *expander) body(fileNo, firstLine int, text string) error {
	fmt.Fprintf(&e.b, "#line %d %d\n", firstLine, fileNo)
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "#include") {
			e.b.WriteString(line)
			if i < len(lines)-1 {
				e.b.WriteByte('\n')
			}
			continue
		}
		at := fmt.Sprintf("%s:%d", e.files[fileNo], firstLine+i)
		arg := strings.TrimSpace(strings.TrimPrefix(trimmed, "#include"))
		if len(arg) < 3 || arg[0] != '"' || arg[len(arg)-1] != '"' || strings.Contains(arg[1:len(arg)-1], "\"") {
			return fmt.Errorf("shaders: %s: malformed include %q, want #include \"file.glsl\"", at, trimmed)
		}
		inc := arg[1 : len(arg)-1]
		if slices.Contains(e.files, inc) {
			// include-once; keep the line count of the including file intact
			e.b.WriteString("\n")
			continue
		}
		data, err := fs.ReadFile(e.fsys, inc)
		if err != nil {
			return fmt.Errorf("shaders: %s: include %q: %w", at, inc, err)
		}
		e.files = append(e.files, inc)
		if err := e.body(len(e.files)-1, 1, string(data)); err != nil {
			return err
		}
		e.b.WriteString("\n")
		fmt.Fprintf(&e.b, "#line %d %d\n", firstLine+i+1, fileNo)
	}
	return nil
}
