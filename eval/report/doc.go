// Package report makes the evaluation report of a run: DIR/report.html with its
// pictures under DIR/report/ (no script, no network, no data: URI, so that it opens
// from disk and passes the browser demo's Content-Security-Policy when served).
//
// A Builder takes one class at a time (StartClass, Add per scored query, EndClass)
// and writes, per class: the image ROC and precision-recall curves, the pixel ROC and
// the PRO curve up to the FPR limit (gonum's plot, PNG; their points in curves.json),
// the histogram of the image scores of good and anomalous queries with the verdict
// threshold, the references with their masks, and a 448-pixel-wide panel per query,
// worst first: the file name, image score and verdict; image | ground truth; the pixel
// scores on the class's scale (nearest-neighbour) | an overlay with the predicted
// region's contour (pixel score ≥ the class's pixel-level F1max threshold) and the
// ground truth's. Write writes the page, atomically, for the classes ended so far.
//
// The verdict threshold is each class's image-level F1max threshold
// (metrics.ImageCurves), or Options.Threshold for every class. eval.FileSink (ideal
// eval) and eval.ReportMapsSink (ideal metrics --report) feed a Builder.
package report // import "github.com/ideal-fsad/ideal/eval/report"
