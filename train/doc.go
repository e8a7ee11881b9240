// Package train trains the IDE head (spec §8) on the CPU: the differentiable part of
// the head (cross-attention, layer norms, FFN, projection score, image and pixel
// losses, discriminability and orthogonality losses) in float64 with a hand-written
// backward pass. The NVE deviations, the position code and the normal scores do not
// depend on the parameters; they come from model/head's episode computation.
package train
