"""Thumbnails: JPEG against WebP (Pillow) at the same byte budget and at the same visual quality (SSIM).

Images: the real camera-trap photos of /work/shared/datasets/real-camtrap-dev (skipped where absent) and
simulated 1280x720 frames (day and night-IR, every subject). Each is scaled to 320 px wide (the reference);
for each budget the highest quality within it is found per format and its SSIM against the reference
measured; for each SSIM target the smallest encoding reaching it. Also the bytes and SSIM of the station's
defaults (``station/pipeline/thumbnail.py``) and the CPU to encode one thumbnail.

Run: ``python -m tests.bench.bench_thumbnail`` (``make bench`` runs every benchmark).
"""

from __future__ import annotations

import io
import statistics
import time
from pathlib import Path
from typing import Any

from PIL import Image

from station.hardware.scenes import SUBJECTS, Scene, render
from station.pipeline.thumbnail import DEFAULT_QUALITY, encode, make_thumbnail, scaled, ssim, within_budget

REAL = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "real-camtrap-dev" / "images"
WIDTH = 320
BUDGETS = (3_000, 5_000, 8_000)
SSIM_TARGETS = (0.85, 0.90, 0.95)
FORMATS = ("jpeg", "webp")


def real_images(limit: int = 32) -> list[Image.Image]:
    if not REAL.is_dir():
        return []
    paths = sorted(REAL.glob("*.jpg"))[:limit]
    return [scaled(Image.open(p), WIDTH) for p in paths]


def simulated_images() -> list[Image.Image]:
    scenes = [Scene(subject=s, night=night, seed=100 + i) for i, s in enumerate(SUBJECTS) for night in (False, True)]
    return [scaled(Image.fromarray(render(scene, (1280, 720), 2)), WIDTH) for scene in scenes]


def decoded(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGB")


def smallest_reaching(image: Image.Image, fmt: str, target: float) -> int | None:
    """Bytes of the lowest quality whose SSIM reaches ``target`` (SSIM rises with quality)."""
    low, high, best = 5, 98, None
    while low <= high:
        middle = (low + high) // 2
        data = encode(image, fmt, middle)
        if ssim(image, decoded(data)) >= target:
            best, high = len(data), middle - 1
        else:
            low = middle + 1
    return best


def compare(images: list[Image.Image]) -> dict[str, Any]:
    if not images:
        return {"images": 0, "note": "absent"}
    out: dict[str, Any] = {"images": len(images), "same_budget": [], "same_ssim": [], "defaults": []}
    for budget in BUDGETS:
        row: dict[str, Any] = {"budget_bytes": budget}
        for fmt in FORMATS:
            fits = [within_budget(image, fmt, budget) for image in images]
            scores = [ssim(image, decoded(data)) for image, data in zip(images, fits, strict=True) if data is not None]
            row[f"{fmt}_ssim_mean"] = round(statistics.mean(scores), 4) if scores else None
            row[f"{fmt}_fits"] = len(scores)
        out["same_budget"].append(row)
    for target in SSIM_TARGETS:
        row = {"ssim": target}
        for fmt in FORMATS:
            sizes = [smallest_reaching(image, fmt, target) for image in images]
            reached = [s for s in sizes if s is not None]
            row[f"{fmt}_bytes_mean"] = round(statistics.mean(reached)) if reached else None
            row[f"{fmt}_reached"] = len(reached)
        out["same_ssim"].append(row)
    for fmt in FORMATS:
        began = time.process_time()
        thumbs = [make_thumbnail(image, width=WIDTH, max_bytes=12_000, fmt=fmt) for image in images]
        cpu_ms = (time.process_time() - began) / len(images) * 1000
        similarity = [ssim(image, decoded(thumb)) for image, thumb in zip(images, thumbs, strict=True)]
        out["defaults"].append({"format": fmt, "quality": DEFAULT_QUALITY[fmt],
                                "bytes_mean": round(statistics.mean(map(len, thumbs))),
                                "bytes_max": max(map(len, thumbs)),
                                "ssim_mean": round(statistics.mean(similarity), 4),
                                "cpu_ms": round(cpu_ms, 2)})
    return out


def run() -> dict[str, Any]:
    return {"real": compare(real_images()), "simulated": compare(simulated_images())}


if __name__ == "__main__":
    for name, result in run().items():
        print(f"## {name}: {result['images']} images")
        for key in ("same_budget", "same_ssim", "defaults"):
            for row in result.get(key, []):
                print(f"  {key:<11} {row}")
