// Package head is the IDEAL head (spec §4–§7), written once against kernels.Backend:
// the normal matching score s_n, the Normal Variation Eraser (NVE), the Intrinsic
// Deviation Encoder (IDE) that turns the abnormal references into the episode's
// deviation vectors T*, the projection score s_a, the anomaly map A, the image score and
// the pixel logits.
//
// Use: load the learned weights (Load from a file, FromFile from a weights.File) or make fresh ones (Init); bind them to
// a backend with New; prepare an Episode once per set of references (NewEpisode uploads
// the reference features, denoises the abnormal references and computes T*); then call
// (*Episode).Score for every query. Queries never recompute reference work.
//
// Degenerate modes: without abnormal references (a = 0) the head is the normal-only
// nearest-patch baseline, s_a = 1 − s_n; without normal references (n = 0) the normal
// patches are the abnormal references' patches outside their defect masks. An abnormal
// reference whose mask covers no patch gets as mask the top 1% (at least 1) of its patches
// by ‖d‖, and the episode reports this in its warnings.
package head
