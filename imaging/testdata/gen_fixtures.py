#!/usr/bin/python3
"""Generates the reference data of the imaging tests with the reference libraries.

Needs Debian's python3-pil (Pillow 9.4), python3-numpy and python3-scipy; run from
the imaging/ folder:  /usr/bin/python3 testdata/gen_fixtures.py
Nothing in the tests runs Python: the outputs are committed.

  testdata/decode/*            images in many modes and formats, written by PIL
  testdata/decode_expected.safetensors
                               PIL's Image.open(p).convert("RGB") of each (H×W×3)
  testdata/resize_src.png      a 67×45 RGB test picture (noise, edges, gradients)
  testdata/resize/WxH.png      PIL's resize((w, h), BICUBIC) of it
  testdata/resize_grey_src.png, testdata/resize/grey_37x29.png
                               a grey 16×9 picture and its RGB conversion up-scaled
  testdata/gaussian.safetensors
                               scipy.ndimage.gaussian_filter(x, sigma) of float32 maps
"""
import json
import os
import struct

import zlib

import numpy as np
from PIL import Image
from scipy import ndimage

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20261129)


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        b = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    js = json.dumps(header).encode()
    js += b" " * (-len(js) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)) + js + b"".join(blobs))


def picture(w, h):
    """Noise plus sharp edges plus smooth gradients: exercises clipping and rounding."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.float64)
    img[..., 0] = 255 * x / (w - 1)
    img[..., 1] = 255 * ((x // 5 + y // 4) % 2)
    img[..., 2] = 128 + 127 * np.sin(x * 0.7) * np.cos(y * 0.45)
    img += rng.normal(0, 30, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# --- decoding -----------------------------------------------------------------------
decode = {}
rgb = picture(13, 7)
alpha = rng.integers(0, 256, (7, 13), dtype=np.uint8)
grey = rgb[..., 1] // 2 + rgb[..., 0] // 3
cases = {
    "rgb.png": Image.fromarray(rgb, "RGB"),
    "grey.png": Image.fromarray(grey, "L"),
    "grey_alpha.png": Image.fromarray(np.dstack([grey, alpha]), "LA"),
    "rgba.png": Image.fromarray(np.dstack([rgb, alpha]), "RGBA"),
    "grey16.png": Image.fromarray((grey.astype(np.uint16) * 257 // 3).astype(np.uint16)),
    "bilevel.png": Image.fromarray(grey > 100).convert("1"),
    "palette.png": Image.fromarray(rgb, "RGB").quantize(16),
    "rgb.bmp": Image.fromarray(rgb, "RGB"),
    "palette.bmp": Image.fromarray(rgb, "RGB").quantize(7),
    "grey.bmp": Image.fromarray(grey, "L"),
    "rgb.tif": Image.fromarray(rgb, "RGB"),
    "rgba.tif": Image.fromarray(np.dstack([rgb, alpha]), "RGBA"),
    "grey.tif": Image.fromarray(grey, "L"),
    "grey16.tif": Image.fromarray((grey.astype(np.uint16) * 2).astype(np.uint16)),
    "rgb_q90.jpg": Image.fromarray(picture(40, 24), "RGB"),
    "grey_q90.jpg": Image.fromarray(grey, "L"),
    "palette.gif": Image.fromarray(rgb, "RGB").quantize(32),
}


def png16(path, a, colour_type):
    """A 16-bit PNG written by hand (PIL cannot write 16-bit colour)."""
    h, w = a.shape[:2]
    raw = b"".join(b"\0" + a[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


wide = rng.integers(0, 65536, (7, 13, 4), dtype=np.uint16)
for name, a, ct in (("rgb16.png", wide[..., :3], 2), ("rgba16.png", wide, 6), ("grey_alpha16.png", wide[..., :2], 4)):
    path = os.path.join(here, "decode", name)
    png16(path, a, ct)
    back = Image.open(path)
    print(f"{name:18s} PIL mode {back.mode}")
    decode[name] = np.asarray(back.convert("RGB"))

pal_t = Image.fromarray(rgb, "RGB").quantize(16)
pal_t.info["transparency"] = 3
cases["palette_trns.png"] = pal_t
for name, im in cases.items():
    path = os.path.join(here, "decode", name)
    if name.endswith(".jpg"):
        im.save(path, quality=90)
    elif name == "palette_trns.png":
        im.save(path, transparency=3)
    else:
        im.save(path)
    back = Image.open(path)
    print(f"{name:18s} PIL mode {back.mode}")
    decode[name] = np.asarray(back.convert("RGB"))
write_safetensors(os.path.join(here, "decode_expected.safetensors"), decode)

# --- resizing -----------------------------------------------------------------------
src = Image.fromarray(picture(67, 45), "RGB")
src.save(os.path.join(here, "resize_src.png"))
sizes = [(98, 98), (14, 14), (1, 1), (33, 22), (67, 20), (20, 45), (200, 150), (67, 45), (3, 90), (150, 130)]
os.makedirs(os.path.join(here, "resize"), exist_ok=True)
for w, h in sizes:
    src.resize((w, h), Image.BICUBIC).save(os.path.join(here, "resize", f"{w}x{h}.png"))
g = Image.fromarray(picture(16, 9)[..., 0], "L")
g.save(os.path.join(here, "resize_grey_src.png"))
g.convert("RGB").resize((37, 29), Image.BICUBIC).save(os.path.join(here, "resize", "grey_37x29.png"))

# --- Gaussian smoothing -------------------------------------------------------------
gauss = {}
for name, (h, w) in {"map_40x31": (31, 40), "map_5x3": (3, 5), "map_64x64": (64, 64)}.items():
    x = rng.random((h, w), dtype=np.float32)
    x[h // 2, w // 3] = 4.0  # a spike shows the kernel shape
    gauss[name] = x
    for sigma in (4.0, 1.5):
        gauss[f"{name}_sigma{sigma:g}"] = ndimage.gaussian_filter(x, sigma=sigma, mode="reflect", truncate=4.0)
write_safetensors(os.path.join(here, "gaussian.safetensors"), gauss)
