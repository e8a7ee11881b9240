// Package viewer is the window-free logic of ideal-view: the results of a scoring run
// (queries, their maps and ground-truth masks), the inspector's state (current query,
// colour map, opacity, map choice, threshold, zoom and pan), the compositing of the
// view into an image.RGBA, hover read-out, and the PNG and CSV exports. The Ebiten
// window in cmd/ideal-view only forwards input to State and draws State.Render; it
// must not import gpu/ (Ebiten and go-gl/glfw cannot be linked into one binary).
package viewer
