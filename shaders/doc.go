// Package shaders holds the GLSL 4.30 compute shaders of the OpenGL backend (package
// gpu): one <op>.comp per kernel, named like the op everywhere else in the project
// (kernels/layernorm, cpu/layernorm, gpu/layernorm, shaders/layernorm.comp), plus
// shared .glsl files. GLSL has no #include, so Source expands `#include "x.glsl"`
// lines itself, failing on a missing file, and inserts the caller's #defines after
// the #version line. Each expanded file gets its own GLSL source-string number (set
// with #line) so that a compiler message can be traced back to a file; Source
// returns the table.
package shaders
