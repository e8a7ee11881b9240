// Package results is the "results folder" that 'ideal score --out DIR' and 'ideal eval
// --out DIR' write and the desktop viewer ('ideal-view DIR') opens: a manifest
// DIR/view.json (Manifest: the episodes, their references and their scored queries) and
// one maps file per query holding its three G×G maps A, s_n and s_a.
//
// A maps file is a safetensors file (weights.WriteSafetensors) with three F32 tensors
// "A", "s_n" and "s_a", each of shape [G, G] (row-major), and the metadata
// {"format": "ideal-maps", "grid": "G"}. By convention it is DIR/maps/NAME.maps.safetensors.
//
// Paths inside DIR (inputs, masks, maps files, the backbone and the head) are stored
// relative to DIR, other paths absolute, so that the folder opens from any working
// directory and can be moved as a whole when it holds its inputs.
// Read returns every path absolute.
package results
