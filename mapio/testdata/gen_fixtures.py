#!/usr/bin/python3
"""Write the map files mapio's tests read, with tifffile and PIL (Debian's
python3-tifffile, python3-pil). Run once from this folder; the Go tests only read
the committed files and values.json (the float32 bit patterns of the 7×5 map)."""
import json

import numpy as np
import tifffile
from PIL import Image

h, w = 5, 7
vals = ((np.arange(h * w) * 37 % 101) / 7.0 - 3.0).astype(np.float32)
vals[3] = np.float32(-0.0)
vals[4] = np.float32(1e-40)  # subnormal
vals[5] = np.float32(3.4e38)
vals[6] = np.float32(-1.5)
m = vals.reshape(h, w)

tifffile.imwrite("tifffile_f32_le.tiff", m, byteorder="<")
tifffile.imwrite("tifffile_f32_be.tiff", m, byteorder=">")
tifffile.imwrite("tifffile_f32_strips.tiff", m, rowsperstrip=2)
tifffile.imwrite("tifffile_f64.tiff", m.astype(np.float64))
tifffile.imwrite("tifffile_u16.tiff", (np.arange(h * w, dtype=np.uint16) * 1000).reshape(h, w))
tifffile.imwrite("tifffile_deflate.tiff", m, compression="zlib")
tifffile.imwrite("tifffile_rgb.tiff", np.zeros((h, w, 3), dtype=np.uint8), photometric="rgb")
Image.fromarray(m, mode="F").save("pil_f32.tiff")
Image.fromarray((np.arange(h * w, dtype=np.uint16) * 1800).reshape(h, w)).save("gray16.png")
Image.fromarray((np.arange(h * w, dtype=np.uint8) * 7).reshape(h, w)).save("gray8.png")
Image.fromarray(np.zeros((h, w, 3), dtype=np.uint8)).save("rgb.png")
with open("values.json", "w") as f:
    json.dump({"w": w, "h": h, "f32_bits": vals.view(np.uint32).tolist()}, f)
    f.write("\n")
