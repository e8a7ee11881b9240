// Package train trains the IDE head (spec §8) on the CPU.
//
// Run is the protocol: episodes drawn from a data set's test split (data.Sampler), the
// features of an ideal.Detector (its backbone and feature cache), the masks prepared by
// ideal.PatchMask and imaging.Mask.Prepare, AdamW with the warm-up + cosine schedule,
// the head and a float64 checkpoint written after every epoch, resuming from a
// checkpoint exactly as if the run had not stopped, a policy for images that cannot be
// used (leave their episodes out, or stop keeping the work done), and cancellation
// through a context at the end of the current iteration:
//
//	det, _ := ideal.New(ideal.Options{Backbone: "dinov2_vits14.pth", Cache: "features"})
//	ds, _ := data.Open("mvtec", data.FormatMVTec, nil)
//	rep, err := train.Run(ctx, det, ds, train.Options{Out: "head.safetensors", NShot: 1})
//
// Below it: the differentiable part of the head (cross-attention, layer norms, FFN,
// projection score, image and pixel losses, discriminability and orthogonality
// losses) in float64 with a hand-written backward pass, dropout in training
// (Sample.DropRate), AdamW with amsgrad, the schedule, and the checkpoints
// (Checkpoint). The NVE deviations, the position code and the normal scores do not
// depend on the parameters; they come from model/head's episode computation
// (NewSample).
package train
