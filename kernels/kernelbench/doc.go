// Package kernelbench is the project's one benchmark case set and the function that
// times it. Cases lists the kernels at the DINOv2 ViT-S/14 shapes for an S×S input
// (the four matmuls of a block, self- and cross-attention, layer norm, the patch
// embedding, the head's search, NVE and projection, and one whole transformer block);
// model/modelbench adds the model stages (backbone, head, query). `ideal bench`
// times them with MeasureAll on each backend (ParseBackends, Measure per backend,
// WriteTable, WriteReport); kerneltest.BenchAll runs the same cases under
// `go test -bench`.
//
// A case sets up its inputs on a backend (the same values on every backend, from a
// fixed seed) and returns a Run that does the work once and waits for the backend.
package kernelbench
