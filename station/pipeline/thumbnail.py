"""Thumbnails for the wire: the image it is given (a whole frame or a crop), scaled to a width, encoded as
JPEG or WebP at a quality, within a byte budget.

The default format and quality come from ``tests/bench/bench_thumbnail.py`` (same byte budget and same SSIM,
on real camera-trap photos and simulated frames); docs/wire.md has the figures.
"""

from __future__ import annotations

import io
from typing import Literal

import numpy as np
from PIL import Image

ThumbnailFormat = Literal["jpeg", "webp"]
CONTENT_TYPES = {"jpeg": "image/jpeg", "webp": "image/webp"}
DEFAULT_QUALITY = {"jpeg": 70, "webp": 45}  # about equal SSIM on real photos (bench_thumbnail)
MIN_QUALITY = 10
MIN_WIDTH = 64


def encode(image: Image.Image, fmt: ThumbnailFormat, quality: int) -> bytes:
    out = io.BytesIO()
    if fmt == "jpeg":
        image.save(out, "JPEG", quality=quality, optimize=True)
    else:
        image.save(out, "WEBP", quality=quality, method=4)
    return out.getvalue()


def scaled(image: Image.Image, width: int) -> Image.Image:
    image = image.convert("RGB")
    if image.width <= width:
        return image
    height = max(16, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def make_thumbnail(source: bytes | Image.Image, *, width: int, max_bytes: int, fmt: ThumbnailFormat = "jpeg",
                   quality: int | None = None) -> bytes:
    """At most ``width`` wide, ``max_bytes`` big: the quality is lowered (binary search) before the size is."""
    if isinstance(source, bytes):
        with Image.open(io.BytesIO(source)) as opened:
            image = opened.convert("RGB")
    else:
        image = source
    target = quality or DEFAULT_QUALITY[fmt]
    small = scaled(image, width)
    while True:
        data = encode(small, fmt, target)
        if len(data) <= max_bytes:
            return data
        best = within_budget(small, fmt, max_bytes, high=target - 1)
        if best is not None or small.width <= MIN_WIDTH:
            return best if best is not None else data
        small = scaled(small, max(MIN_WIDTH, int(small.width * 0.7)))


def within_budget(image: Image.Image, fmt: ThumbnailFormat, max_bytes: int, *, high: int = 95) -> bytes | None:
    """The highest-quality encoding of ``image`` within ``max_bytes`` (None when even the lowest is over)."""
    low, best = MIN_QUALITY, None
    while low <= high:
        middle = (low + high) // 2
        data = encode(image, fmt, middle)
        if len(data) <= max_bytes:
            best, low = data, middle + 1
        else:
            high = middle - 1
    return best


def ssim(a: Image.Image, b: Image.Image, window: int = 7) -> float:
    """Mean structural similarity of the luma of two same-size images (Wang et al. 2004, uniform window)."""
    x = np.asarray(a.convert("L"), dtype=np.float64)
    y = np.asarray(b.convert("L"), dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"ssim needs same-size images, got {x.shape} and {y.shape}")
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    n = window * window
    mx, my = _box(x, window), _box(y, window)
    cov = n / (n - 1)  # sample (co)variances, as scikit-image does
    vx = (_box(x * x, window) - mx * mx) * cov
    vy = (_box(y * y, window) - my * my) * cov
    vxy = (_box(x * y, window) - mx * my) * cov
    s = ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s.mean())


def _box(values: np.ndarray, window: int) -> np.ndarray:
    """Means over every full ``window`` x ``window`` square (summed-area table)."""
    table = np.pad(values, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    sums = table[window:, window:] - table[:-window, window:] - table[window:, :-window] + table[:-window, :-window]
    return sums / (window * window)
