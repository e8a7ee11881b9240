// Package shaders holds the GLSL 4.30 compute shaders of the OpenGL backend (package
// gpu): one <op>.comp per kernel, named like the op everywhere else in the project
// (kernels/layernorm, cpu/layernorm, gpu/layernorm, shaders/layernorm.comp), plus
// shared .glsl files. GLSL has no #include, so Source expands `#include "x.glsl"`
// lines itself, failing on a missing file, and inserts the caller's #defines after
// the #version line. Compilers number the lines of the whole expanded text;
// Expanded.Where maps such a number back to the file and line it came from.
package shaders
