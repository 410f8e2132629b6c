"""The report's grey images (the first-layer filters) as PNG ``data:`` URIs, encoded by Pillow."""
from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

__all__ = ["png_data_uri", "grey_mosaic"]


def png_data_uri(grey: np.ndarray) -> str:
    """A ``data:image/png;base64,...`` URI of an 8-bit grey image (2-D uint8 array)."""
    img = np.ascontiguousarray(grey, dtype=np.uint8)
    if img.ndim != 2:
        raise ValueError(f"png_data_uri: expected a 2-D grey image, got shape {img.shape}")
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", optimize=False, compress_level=9)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def grey_mosaic(filters: np.ndarray, columns: int = 10, scale: int = 8, gap: int = 4,
                invert: bool = True) -> np.ndarray:
    """Filters (FN, FH, FW) as one grey image: each filter scaled to its own min..max (as
    matplotlib's ``imshow`` does in the book's ``filter_show``), enlarged ``scale`` times by
    pixel repetition, laid out in a grid with white gaps. ``invert``: the book's ``gray_r``
    colour map (large weights dark)."""
    f = np.asarray(filters, dtype=np.float64)
    n, fh, fw = f.shape
    cols = min(columns, n)
    rows = -(-n // cols)
    H = rows * fh * scale + (rows - 1) * gap
    W = cols * fw * scale + (cols - 1) * gap
    img = np.full((H, W), 255, dtype=np.uint8)
    for i in range(n):
        lo, hi = f[i].min(), f[i].max()
        g = (f[i] - lo) / (hi - lo) if hi > lo else np.full_like(f[i], 0.5)
        if invert:
            g = 1.0 - g
        tile = np.kron(np.round(g * 255).astype(np.uint8), np.ones((scale, scale), dtype=np.uint8))
        r, c = divmod(i, cols)
        y, x = r * (fh * scale + gap), c * (fw * scale + gap)
        img[y:y + fh * scale, x:x + fw * scale] = tile
    return img
