// Package dinov2 is the frozen DINOv2 ViT backbone of IDEAL (spec §3), written once
// against kernels.Backend so the same code runs on the reference, CPU and GPU backends.
//
// Weights come from a *weights.File (Load reads safetensors, torch.save state dicts
// and TorchScript archives) under either the Hugging Face names (facebook/dinov2-small
// model.safetensors: embeddings.*, encoder.layer.{i}.*, layernorm.*) or the torch-hub
// names (cls_token, pos_embed, patch_embed.proj.*, blocks.{i}.*, norm.*), optionally
// under a common prefix such as the "inner.vision_encoder." of a TorchScript archive.
// Width, depth, patch size, the trained position grid and register tokens are
// inferred from the tensor shapes; the number of heads is not visible in the shapes
// and comes from Options.Heads, the file's metadata, a config.json beside the file
// (Load), or C/64.
// Loading is strict: a missing tensor, a tensor of the wrong shape, or an unexpected
// tensor under the model's names is an error naming the tensor and the shapes.
//
// Features maps one normalised S×S image (S a multiple of the patch size) to its
// N×C last-layer patch tokens after the final LayerNorm, CLS and register tokens
// dropped, in row-major grid order. The features of an image depend on that image
// (and S) only, never on other images, so callers may cache them per image and size.
package dinov2
