// Package pipelinetest holds the test that every surface of the toolkit runs the one
// pipeline of package ideal: the same query scored through 'ideal score --json',
// 'ideal eval' (with --refs fixing the references), the desktop viewer's session, the
// browser engine and the inspection service ('ideal serve') gives bit-identical image
// scores and G×G maps. It lives apart from cmd/ideal because the viewer (Ebiten) and
// the gpu backend (GLFW) cannot share a binary: the command line runs as its own
// process here.
package pipelinetest
