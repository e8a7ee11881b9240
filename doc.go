// Package ideal is discriminative few-shot anomaly detection (IDEAL, "Beyond Normal
// References", 2026) in one pipeline: the front door every tool of this module uses.
//
// Data flows one way:
//
//	images ─▶ Detector.Features ─▶ Detector.Episode(references) ─▶ Episode.Score(query) ─▶ Result
//	          decode, preprocess,     normal patches, NVE of the       s_n, NVE, projection   image score,
//	          DINOv2 (cached)         abnormal refs, IDE → T*          onto T*                G×G maps, pixel map
//
// A Detector loads the weights once (New), owns the feature source (an image is decoded,
// resized and normalised as spec §2 says, run through the frozen DINOv2 backbone, and
// its patch features optionally cached on disk or in memory) and is safe for concurrent
// use. An Episode prepares one set of references — normal images and abnormal ones with
// their defect masks, given as files or in memory — and scores any number of queries
// against them. A Result holds the image score, the G×G maps A, s_n and s_a, and gives
// the full-resolution pixel map of spec §7 (PixelMap) and a verdict for a threshold.
//
// Compute runs on a kernels.Backend (OpenBackend: "cpu", "gpu", "auto", "reference").
// Errors about an input wrap ErrBadInput (and are *InputError naming it); a backend limit
// wraps ErrUnsupported; cancellation through the context wraps ctx.Err().
//
// The protocols built on it: package eval (a data set, every class, the metrics) and
// package train (the IDE head's episodic training). The command line (cmd/ideal), the
// desktop viewer and the browser engine are thin consumers of this package.
package ideal // import "github.com/ideal-fsad/ideal"
