// Package metrics computes the anomaly-detection metrics of spec §10 exactly:
// image-level I-AUROC, I-AP and I-F1max from one score per image, and pixel-level
// P-AUROC, P-F1max and AU-PRO from anomaly maps and ground-truth masks.
//
// Every distinct score is a threshold and tied scores move together, as in
// scikit-learn's roc_curve and precision_recall_curve:
//   - AUROC is the trapezoid area under the ROC curve (roc_auc_score);
//   - AP is the step integral Σ (R_k − R_{k−1}) P_k (average_precision_score);
//   - F1max is the largest 2PR/(P+R) over the thresholds of precision_recall_curve;
//   - AU-PRO is the official MVTec AD definition: the 8-connected regions of every
//     ground-truth mask, the per-region overlap averaged over all regions of the
//     class (PRO) against the false-positive rate over normal pixels, integrated by
//     the trapezoid rule up to an FPR limit (linear interpolation at the limit) and
//     divided by that limit.
//
// AuthorsPROAccumulator computes another metric, the authors' P-PRO (their
// utils/eva_metrics.py, the P-PRO column of their tables): maps zoomed to a longest
// side of 256, 4-connected regions, 50 thresholds, FPR ≤ 0.3, with NumPy's and SciPy's
// arithmetic reproduced (zoom, linspace, pairwise sums, the order argsort gives tied
// points), so that it matches their numbers; it is not comparable with AU-PRO.
//
// A metric that is not defined for a class (no anomalous or no normal images, no
// anomalous or no normal pixels) is NaN and named in ClassResult.Undefined; it is
// never reported as 0 or 1, and the mean over classes leaves it out and says so.
//
// Pixel metrics are streamed: PixelAccumulator keeps 4 bytes per normal pixel and
// 8 per anomalous pixel (an order-preserving uint32 key of the float32 score),
// partitions the keys in place by their top 16 bits and resolves each partition
// exactly, so no threshold is binned and memory stays linear in the pixel count.
package metrics
