//go:build cgo && !js

package gpu

import (
	"fmt"
	"unsafe"

	"github.com/go-gl/gl/v4.3-core/gl"
)

// Thin wrappers over every GL call the backend makes, so that each is followed by
// check (glGetError under the gldebug tag) naming the call. Only this file calls gl
// directly (besides gl.Init and gl.GetError).

func glGetString(name uint32) string {
	s := gl.GoStr(gl.GetString(name))
	check("glGetString")
	return s
}

func glGetInteger(name uint32) int {
	var v int32
	gl.GetIntegerv(name, &v)
	check("glGetIntegerv")
	return int(v)
}

func glGetIntegerIndexed(name, index uint32) int {
	var v int32
	gl.GetIntegeri_v(name, index, &v)
	check("glGetIntegeri_v")
	return int(v)
}

func glNewBuffer(bytes int, data unsafe.Pointer) uint32 {
	var b uint32
	gl.GenBuffers(1, &b)
	check("glGenBuffers")
	gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, b)
	check("glBindBuffer")
	gl.BufferData(gl.SHADER_STORAGE_BUFFER, bytes, data, gl.DYNAMIC_COPY)
	check("glBufferData")
	return b
}

func glClearBuffer(b uint32) {
	gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, b)
	check("glBindBuffer")
	gl.ClearBufferData(gl.SHADER_STORAGE_BUFFER, gl.R32F, gl.RED, gl.FLOAT, nil)
	check("glClearBufferData")
}

func glReadBuffer(b uint32, bytes int, dst unsafe.Pointer) {
	gl.MemoryBarrier(gl.BUFFER_UPDATE_BARRIER_BIT)
	check("glMemoryBarrier")
	gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, b)
	check("glBindBuffer")
	gl.GetBufferSubData(gl.SHADER_STORAGE_BUFFER, 0, bytes, dst)
	check("glGetBufferSubData")
}

func glWriteBuffer(b uint32, bytes int, src unsafe.Pointer) {
	gl.BindBuffer(gl.SHADER_STORAGE_BUFFER, b)
	check("glBindBuffer")
	gl.BufferSubData(gl.SHADER_STORAGE_BUFFER, 0, bytes, src)
	check("glBufferSubData")
}

func glDeleteBuffer(b uint32) {
	gl.DeleteBuffers(1, &b)
	check("glDeleteBuffers")
}

func glBindStorage(binding int, b uint32) {
	gl.BindBufferBase(gl.SHADER_STORAGE_BUFFER, uint32(binding), b)
	check("glBindBufferBase")
}

// glCompileCompute compiles and links a compute program; on failure it returns 0 and
// the info log.
func glCompileCompute(src string) (prog uint32, log string) {
	sh := gl.CreateShader(gl.COMPUTE_SHADER)
	check("glCreateShader")
	cs, free := gl.Strs(src + "\x00")
	gl.ShaderSource(sh, 1, cs, nil)
	check("glShaderSource")
	free()
	gl.CompileShader(sh)
	check("glCompileShader")
	var ok int32
	gl.GetShaderiv(sh, gl.COMPILE_STATUS, &ok)
	check("glGetShaderiv")
	if ok == gl.FALSE {
		log = infoLog(sh, gl.GetShaderiv, gl.GetShaderInfoLog)
		gl.DeleteShader(sh)
		check("glDeleteShader")
		return 0, "compile failed:\n" + log
	}
	prog = gl.CreateProgram()
	check("glCreateProgram")
	gl.AttachShader(prog, sh)
	check("glAttachShader")
	gl.LinkProgram(prog)
	check("glLinkProgram")
	gl.DeleteShader(sh) // flagged; freed with the program
	check("glDeleteShader")
	gl.GetProgramiv(prog, gl.LINK_STATUS, &ok)
	check("glGetProgramiv")
	if ok == gl.FALSE {
		log = infoLog(prog, gl.GetProgramiv, gl.GetProgramInfoLog)
		gl.DeleteProgram(prog)
		check("glDeleteProgram")
		return 0, "link failed:\n" + log
	}
	return prog, ""
}

func infoLog(obj uint32, get func(uint32, uint32, *int32), read func(uint32, int32, *int32, *uint8)) string {
	var n int32
	get(obj, gl.INFO_LOG_LENGTH, &n)
	check("glGet*iv(GL_INFO_LOG_LENGTH)")
	if n <= 0 {
		return "(empty info log)"
	}
	buf := make([]byte, n)
	read(obj, n, nil, &buf[0])
	check("glGet*InfoLog")
	return string(buf[:len(buf)-1])
}

func glDeleteProgram(p uint32) {
	gl.DeleteProgram(p)
	check("glDeleteProgram")
}

func glUseProgram(p uint32) {
	gl.UseProgram(p)
	check("glUseProgram")
}

func glUniformLocation(p uint32, name string) int32 {
	l := gl.GetUniformLocation(p, gl.Str(name+"\x00"))
	check("glGetUniformLocation")
	return l
}

func glUniform1i(loc int32, v int32) {
	gl.Uniform1i(loc, v)
	check("glUniform1i")
}

func glUniform1ui(loc int32, v uint32) {
	gl.Uniform1ui(loc, v)
	check("glUniform1ui")
}

func glUniform1f(loc int32, v float32) {
	gl.Uniform1f(loc, v)
	check("glUniform1f")
}

func glUniform3ui(loc int32, x, y, z uint32) {
	gl.Uniform3ui(loc, x, y, z)
	check("glUniform3ui")
}

func glDispatch(x, y, z int) {
	gl.DispatchCompute(uint32(x), uint32(y), uint32(z))
	check("glDispatchCompute")
}

// glBarrier makes the writes of the dispatches so far visible to later shader reads
// and to buffer reads from the host.
func glBarrier() {
	gl.MemoryBarrier(gl.SHADER_STORAGE_BARRIER_BIT | gl.BUFFER_UPDATE_BARRIER_BIT)
	check("glMemoryBarrier")
}

// glErrorName names a glGetError code.
func glErrorName(e uint32) string {
	names := map[uint32]string{
		gl.INVALID_ENUM: "GL_INVALID_ENUM", gl.INVALID_VALUE: "GL_INVALID_VALUE",
		gl.INVALID_OPERATION: "GL_INVALID_OPERATION", gl.OUT_OF_MEMORY: "GL_OUT_OF_MEMORY",
		gl.INVALID_FRAMEBUFFER_OPERATION: "GL_INVALID_FRAMEBUFFER_OPERATION", gl.CONTEXT_LOST: "GL_CONTEXT_LOST",
	}
	if n, ok := names[e]; ok {
		return n
	}
	return fmt.Sprintf("GL error 0x%04x", e)
}
