// Package site is the browser demo that 'ideal web' serves: its static files
// (index.html, app.js, worker.js, style.css; bench.html and bench.js, the speed page
// 'ideal bench --browser' opens), embedded, and the hardened HTTP server for them.
//
// When 'make wasm' has put ideal.wasm (the engine, package wasm/main built for
// GOOS=js GOARCH=wasm) and wasm_exec.js into static/ before the ideal binary is built,
// they are embedded too; otherwise Handler refuses the site with ErrNoEngine, which says
// how to build a binary with them.
//
// The server side:
//
//	Listen(addr, public)          loopback only, unless public (ErrNotLoopback)
//	Handler(Static)               the files, in memory, to GET and HEAD without a body,
//	                              with CSP and the other security headers on every response
//	NewServer(h, DefaultLimits)   timeouts, header, URL and connection caps
//	Serve(ctx, srv, ln, onStop)   until ctx ends, then a graceful shutdown
package site

import "embed"

// Static is the static/ folder.
//
//go:embed static
var Static embed.FS
