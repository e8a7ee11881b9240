//go:build cgo && !js

package gpu

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ideal-fsad/ideal/shaders"
)

// program is a linked compute program and its uniform locations.
type program struct {
	id   uint32
	name string
	locs map[string]int32
	off  int32 // location of u_groupOffset
}

// program returns the compiled program of shader file name with the given defines,
// compiling it on first use. A shader that does not compile is a bug of this
// package: it panics with the file, the defines, the source-string table and the
// info log. On the GL thread.
func (b *backend) program(name string, defs ...shaders.Define) *program {
	key := name
	for _, d := range defs {
		key += " " + d.Name + "=" + d.Value
	}
	if p := b.progs[key]; p != nil {
		return p
	}
	src, err := shaders.Source(name, defs...)
	if err != nil {
		panic(err.Error())
	}
	p, err := compile(src, key)
	if err != nil {
		panic(err.Error())
	}
	b.progs[key] = p
	return p
}

// compile builds an expanded shader; the error names the shader (and the variant
// key) and carries the info log, whose line numbers are rewritten as the file and
// line they came from.
func compile(src shaders.Expanded, key string) (*program, error) {
	id, log := glCompileCompute(src.Text)
	if id == 0 {
		return nil, fmt.Errorf("gpu: shader %s: %s", key, annotate(strings.TrimSpace(log), src))
	}
	p := &program{id: id, name: key, locs: map[string]int32{}}
	p.off = glUniformLocation(id, "u_groupOffset")
	return p, nil
}

// logLine matches the position at the start of a compiler message: Mesa's
// "0:12(3): error" and NVIDIA's "0(12) : error".
var logLine = regexp.MustCompile(`(?m)^\d+(?::(\d+)|\((\d+)\))`)

// annotate replaces the line positions in a compiler log by file:line.
func annotate(log string, src shaders.Expanded) string {
	return logLine.ReplaceAllStringFunc(log, func(m string) string {
		sub := logLine.FindStringSubmatch(m)
		n, err := strconv.Atoi(sub[1] + sub[2])
		if err != nil {
			return m
		}
		return src.Where(n)
	})
}

func (p *program) loc(name string) int32 {
	l, ok := p.locs[name]
	if !ok {
		// −1 for a uniform the compiler removed in this variant: GL ignores its writes.
		l = glUniformLocation(p.id, name)
		p.locs[name] = l
	}
	return l
}

// set sets int, uint32, float32 and bool uniforms given as name, value pairs.
// The program must be in use.
func (p *program) set(kv ...any) {
	for i := 0; i < len(kv); i += 2 {
		name := kv[i].(string)
		switch v := kv[i+1].(type) {
		case int:
			glUniform1i(p.loc(name), int32(v))
		case uint32:
			glUniform1ui(p.loc(name), v)
		case float32:
			glUniform1f(p.loc(name), v)
		case bool:
			n := int32(0)
			if v {
				n = 1
			}
			glUniform1i(p.loc(name), n)
		default:
			panic(fmt.Sprintf("gpu: uniform %s of type %T", name, v))
		}
	}
}

// run makes p current, sets its uniforms (name, value pairs), binds bufs to the
// storage bindings 0, 1, … and dispatches a logical grid of groups work groups,
// split to respect GL_MAX_COMPUTE_WORK_GROUP_COUNT; a memory barrier follows. On
// the GL thread.
func (b *backend) run(p *program, groups [3]int, bufs []uint32, uniforms ...any) {
	glUseProgram(p.id)
	p.set(uniforms...)
	for i, buf := range bufs {
		glBindStorage(i, buf)
	}
	for _, d := range Split(groups, b.limit) {
		if p.off >= 0 {
			glUniform3ui(p.off, uint32(d.Offset[0]), uint32(d.Offset[1]), uint32(d.Offset[2]))
		}
		glDispatch(d.Count[0], d.Count[1], d.Count[2])
	}
	glBarrier()
}

// def is a shorthand for an integer #define.
func def(name string, v int) shaders.Define { return shaders.Define{Name: name, Value: fmt.Sprint(v)} }
