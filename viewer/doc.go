// Package viewer is the window-free logic of ideal-view.
//
// State is the inspector's view of one set of scored queries (current query, colour
// map, opacity, map choice, threshold, zoom and pan), composited into an image.RGBA,
// with hover read-out and the PNG and CSV exports. Session scores queries against
// references in the background through package ideal (an ideal.Detector computes each
// image's features once and keeps them in memory, an ideal.Episode is prepared per set
// of masks, Episode.Score scores each query; the CPU backend unless Inputs.Backend
// gives another) and re-scores when an abnormal reference's mask changes; Editor paints such a mask with a round brush through its
// own zoom and pan, with undo. Panel lays out and draws the reference thumbnails.
// Inspector ties them together for the window: episodes (one per class of a results
// folder), the panel, edit mode and the progress bar. Load reads `ideal score --json`
// output, OpenResults the results folders of `ideal score/eval --out`.
//
// The Ebiten window in cmd/ideal-view only forwards input to Inspector and draws its
// Render; this package must not import gpu/ (Ebiten and go-gl/glfw cannot be linked
// into one binary).
package viewer
