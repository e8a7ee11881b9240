// Package site holds the browser demo's static files (index.html, app.js, worker.js),
// embedded for 'ideal web'. When 'make wasm' has put ideal.wasm and wasm_exec.js into
// static/ before the ideal binary is built, they are embedded too; otherwise 'ideal web'
// builds them when it starts (see cmd/ideal/cmd_web.go).
package site

import "embed"

// Static is the static/ folder.
//
//go:embed static
var Static embed.FS
