// Package synth makes a synthetic inspection data set in the MVTec AD layout, so that
// everything in the toolkit can be run without downloading a real data set.
//
// Classes: four textures (fabric: a plain weave; wood: rings and grain; metal: brushed
// steel; carpet: tufts) and two objects (nut: a hexagonal steel nut on a dark belt;
// pill: a white capsule with a score line and red speckles on a tray). Textures have
// the defect types scratch, crack, hole, stain, contamination and color; objects have
// scratch, crack, contamination, color, missing_part and misplacement.
//
// Normal images vary the way real ones do, so that erasing normal variation matters:
// each texture image shows another piece of the material (another phase of the noise,
// other ring positions, other thread shades), each pill has its own speckles, and every
// shot has its own camera nuisance: a rotation (up to 0.07 rad for objects, 0.05 for
// textures) and shift (up to 3% of the side), a gain (±12%), offset, colour tint and
// illumination gradient, and Gaussian sensor noise (σ 1.5 to 3 levels of 255).
//
// Masks are exact: a defect is a region of the scene (a stroke, a blob, particles; on
// objects clipped to the object; for a missing part the piece removed; for a
// misplacement the object's old and new places) repainted inside and unchanged
// outside, and the mask holds exactly the pixels whose centre falls in that region, so
// every changed pixel is in the mask and every mask pixel was repainted. Lighting and
// noise are applied after the defect, to the whole image alike. Defects covering less
// than 0.15% of the image (or more than a third) are drawn again.
//
// The data set is a function of the seed, the size and the counts: every image has
// its own random source derived from the seed and its place in the data set, so images
// are made in parallel and a class's images do not depend on the other classes chosen.
// Same seed, same bytes holds for one build on one architecture; another architecture
// (where the compiler may fuse multiply-adds) or another Go release (PNG compression)
// may change some bytes, not the data set's nature.
package synth
