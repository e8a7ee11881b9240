// Package engine is the scoring session behind the browser demo (cmd/ideal web and the
// js/wasm build in wasm/main): it decodes images and masks from bytes, computes DINOv2
// patch features on the pure-Go CPU backend, builds an IDEAL episode from normal and
// abnormal references and scores queries into an image score, a G×G map and an overlay
// PNG. A session reads an IDE head from a file's bytes (HeadFromBytes, SetHead; the seeded
// demo head otherwise), takes masks painted in the page (MaskFromRGBA,
// SetReferencesMasks), and caches the features of the images it has seen by content, so
// that a mask edit only prepares the episode again. It has no js dependency, so the same
// code runs natively (the tests' oracle) and in the page.
package engine
