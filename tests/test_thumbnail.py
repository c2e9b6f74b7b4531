"""Thumbnails: JPEG or WebP within the byte budget, of whatever image is given; the SSIM used to choose."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from station.central.decode import Thumbnail, decode
from station.hardware.scenes import Scene, render
from station.pipeline.thumbnail import make_thumbnail, scaled, ssim

MEDIA_ID = "0193b2c4-5b77-7e01-8f00-112233445566"


def frame() -> Image.Image:
    return Image.fromarray(render(Scene(subject="amur_tiger", night=False, seed=5), (1280, 720), 1))


def test_ssim_agrees_with_scikit_image():
    rng = np.random.default_rng(17)
    a = np.clip(np.cumsum((rng.random((48, 64)) * 255).astype(np.uint8), 1) // 64, 0, 255).astype(np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    # skimage.metrics.structural_similarity(a, b, data_range=255) on these arrays (scikit-image 0.26)
    assert ssim(Image.fromarray(a), Image.fromarray(b)) == pytest.approx(0.5121616201341904, abs=1e-12)
    assert ssim(Image.fromarray(a), Image.fromarray(a)) == pytest.approx(1.0)


@pytest.mark.parametrize("fmt, magic", [("webp", b"RIFF"), ("jpeg", b"\xff\xd8")])
def test_thumbnail_fits_the_budget_in_either_format(fmt, magic):
    image = frame()
    for budget in (12_000, 2_000, 600):
        data = make_thumbnail(image, width=320, max_bytes=budget, fmt=fmt)
        assert data[:4].startswith(magic) and len(data) <= budget
        with Image.open(io.BytesIO(data)) as thumb:
            assert thumb.width <= 320
    full = make_thumbnail(image, width=320, max_bytes=12_000, fmt=fmt)
    with Image.open(io.BytesIO(full)) as thumb:
        assert ssim(scaled(image, 320), thumb.convert("RGB")) > 0.95


def test_any_image_is_accepted_a_crop_or_encoded_bytes():
    crop = frame().crop((400, 200, 700, 500))  # e.g. the best detection's box
    data = make_thumbnail(crop, width=320, max_bytes=12_000, fmt="webp")
    with Image.open(io.BytesIO(data)) as thumb:
        assert thumb.size == (300, 300)  # never enlarged
    encoded = io.BytesIO()
    crop.save(encoded, "PNG")
    assert make_thumbnail(encoded.getvalue(), width=100, max_bytes=12_000, fmt="jpeg")[:2] == b"\xff\xd8"


def test_central_accepts_a_webp_thumbnail_with_or_without_its_content_type():
    data = make_thumbnail(frame(), width=320, max_bytes=12_000, fmt="webp")
    for content_type in ("image/webp", None):
        record = decode(f"camtrap/v1/llnp-0412/media/{MEDIA_ID}", data, topic_root="camtrap/v1",
                        content_type=content_type)
        assert isinstance(record, Thumbnail) and record.content_type == "image/webp"
