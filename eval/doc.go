// Package eval is the evaluation protocol of IDEAL (spec §1, §10) on a whole data set:
// one few-shot episode per class, every query scored, and the image- and pixel-level
// metrics of every class and their mean. 'ideal eval' and 'ideal train --eval-data'
// are thin consumers of it.
//
// The flow:
//
//	ds, _ := data.Open(root, data.FormatMVTec, nil)         // the data set, by paths
//	det, _ := ideal.New(ideal.Options{Backbone: ..., Head: ..., Cache: dir})
//	rep, err := eval.Run(ctx, det, ds, eval.Options{NShot: 1, AShot: 1}, sink)
//
//	for each class (data.Episodes: references fixed or drawn with a seed)
//	    det.Episode(references)                   ─▶ sink.ClassStart
//	    for each query: Episode.Score ─▶ Result   ─▶ sink.Query (or sink.Skipped)
//	        image score; Result.PixelMap (spec §7) against the mask resized to S×S
//	    metrics.ImageMetrics, PixelAccumulator    ─▶ rep.Classes, sink.ClassDone
//	rep.Mean                                      ─▶ sink.End
//
// Every query goes through ideal.Episode.Score, the one pipeline the score command,
// the viewer and the browser engine use, so their scores agree bit for bit. The
// detector's feature source (with ideal.Options.Cache, an on-disk feature cache)
// makes a second run with another head or shot count skip the backbone.
//
// A bad image (unreadable, corrupt, without a usable mask, with features or maps that
// are not finite) is left out with its reason in Report.Skipped, or ends the run with
// Options.StopOnError; a class whose references are bad is left out as a whole.
// Cancelling the context stops after the current image: Run then returns the report of
// the finished classes and a *StoppedError.
//
// A Sink sees the run as it goes: progress for a command line, or files. FileSink
// writes the results folder of 'ideal eval --out DIR' (metrics.json, metrics.csv,
// scores.csv, view.json with the G×G maps, the S×S maps and overlays, and with
// FileSink.Report the report.html of package report), rewritten after every class.
//
// Maps evaluates anomaly maps written by any tool (float32 TIFFs in the official MVTec
// AD layout, MAPS/<class>/test/<type>/<name>.tiff, such as FileSink.SaveMaps writes)
// against a data set's ground truth, with the same per-class metrics: 'ideal metrics'
// is a thin consumer of it.
package eval // import "github.com/ideal-fsad/ideal/eval"
