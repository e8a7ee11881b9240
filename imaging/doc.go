// Package imaging is everything between image files and tensors, and from maps back
// to pictures.
//
// Images in: LoadRGB / DecodeRGB decode PNG, JPEG, BMP and TIFF and convert to 8-bit
// RGB (type RGB) with the rules of PIL's Image.open(p).convert("RGB"), which the
// authors' code uses:
//   - grey (1-, 2-, 4-, 8-bit) repeats the channel; a palette is looked up;
//   - alpha is dropped, not composited over a background (RGBA and LA keep their
//     straight colour; premultiplied TIFF colour is un-premultiplied first);
//   - 16-bit colour keeps the high byte of each sample (PIL's "RGB;16B" unpacking);
//   - 16-bit grey is clipped to 255, not scaled: PIL opens it as mode "I" / "I;16" and
//     its conversion to RGB clips (checked with Pillow 9.4), so a 16-bit grey image
//     whose values exceed 255 turns mostly white, as it does in the authors' pipeline;
//   - JPEG is decoded by Go's image/jpeg, whose IDCT and chroma up-sampling differ from
//     libjpeg's: expect differences of a few levels against PIL on colour JPEGs (PNG,
//     BMP and TIFF are exact).
//
// EXIF orientation is ignored, as PIL's Image.open ignores it. Every decoder first
// reads the header: empty files, text, unknown formats, zero-size images and images
// larger than MaxPixels are refused before any pixel memory is allocated; truncated
// and corrupt files give an error, never a panic.
//
// Model input: Resize is PIL's bicubic resampling, bit for bit (Image.resize with
// BICUBIC, which torchvision's Resize calls on PIL images); Normalize scales to [0,1]
// and applies the ImageNet mean and std into a CHW float32 tensor; Preprocess does
// load + resize to S×S + normalise.
//
// Masks: ReadMask reads any image as 8-bit grey (PIL's convert("L") weights for
// colour) and marks every non-zero pixel as defect; Mask.ResizeNearest follows
// PyTorch's nearest convention (source index ⌊dst·in/out⌋); CheckMaskSize compares a
// mask's size with its image's; PatchMask turns an S×S mask into the patch grid of
// spec §2 (14×14 ones convolution, stride 14, padding 1).
//
// Maps out: UpsampleBilinear (PyTorch bilinear, align_corners = false), GaussianBlur
// (scipy.ndimage.gaussian_filter: truncate 4σ, reflect borders), the colour maps
// inferno, jet and grey (matplotlib's 256-entry tables), Overlay of a map on an image,
// and atomic PNG writers for pictures and for maps as 16-bit grey.
package imaging
