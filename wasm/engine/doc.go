// Package engine is the scoring session behind the browser demo (cmd/ideal web and the
// js/wasm build in wasm/main), a thin layer over package ideal: it takes images and masks
// as bytes, computes DINOv2 patch features (on a single-threaded CPU backend on the
// build's best path, WebAssembly SIMD128 in the page, unless WithBackend gives another;
// SetTeam splits each backbone pass over the page's workers, Follow runs a worker's
// share), builds an ideal.Episode from normal and abnormal
// references and scores queries with ideal.Episode.Score into an image score, a G×G map
// and an overlay PNG. A session reads an IDE head from a file's bytes (HeadFromBytes,
// SetHead; the seeded demo head otherwise), takes masks painted in the page
// (MaskFromRGBA, SetReferencesMasks), and keeps the features of the images it has seen
// in the detector's memory cache, so that a mask edit or a head change only prepares the
// episode again. NewRandom and BenchPass time the engine without a weight file. It has
// no js dependency, so the same code runs natively (the tests'
// oracle) and in the page.
package engine
