// Package train trains the IDE head (spec §8) on the CPU: the differentiable part of
// the head (cross-attention, layer norms, FFN, projection score, image and pixel
// losses, discriminability and orthogonality losses) in float64 with a hand-written
// backward pass, dropout in training (Sample.DropRate), AdamW with amsgrad, the
// warm-up + cosine schedule, and float64 checkpoints (Checkpoint) from which a run
// resumes exactly. The NVE deviations, the position code and the normal scores do not
// depend on the parameters; they come from model/head's episode computation.
package train
