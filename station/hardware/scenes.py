"""Synthetic camera-trap scenes for the simulated camera and for training the bundled pipeline model.

A scene is a forest background plus, optionally, one subject (a species drawn as a stylised body with the
coat pattern that tells it apart: tiger stripes, leopard rosettes, sika spots, a boar's dark bulk, an
upright person). Day scenes are in colour; night scenes imitate a NoIR camera under an IR lamp (grey,
bright centre, dark corners). The same renderer feeds both the demo station and `models/train_pipeline.py`,
so the bundled model is trained on exactly what the simulated camera shows and on nothing else.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
from PIL import Image, ImageDraw

#: Subjects the renderer can draw, by species key of the catalogue (``station/vision/species.toml``).
SUBJECTS: tuple[str, ...] = ("blank", "human", "amur_tiger", "amur_leopard", "wild_boar", "sika_deer")

_COATS: dict[str, tuple[int, int, int]] = {
    "amur_tiger": (214, 118, 36),
    "amur_leopard": (201, 168, 96),
    "wild_boar": (72, 58, 48),
    "sika_deer": (150, 86, 48),
}


@dataclasses.dataclass(frozen=True)
class Scene:
    """What the simulated world puts in front of the lens for one sequence."""

    subject: str = "blank"
    night: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.subject not in SUBJECTS:
            raise ValueError(f"unknown subject {self.subject!r}; choose one of {', '.join(SUBJECTS)}")


def render(scene: Scene, size: tuple[int, int], frame_index: int = 0) -> np.ndarray:
    """Render one frame of ``scene`` as an RGB uint8 array of shape (height, width, 3).

    Successive ``frame_index`` values move the subject across the frame, as in a real burst.
    """
    width, height = size
    rng = random.Random(scene.seed)
    canvas = Image.fromarray(_background(rng, width, height))
    draw = ImageDraw.Draw(canvas)
    if scene.subject != "blank":
        scale = rng.uniform(0.35, 0.6) * height
        x = rng.uniform(0.2, 0.6) * width + frame_index * 0.04 * width
        y = rng.uniform(0.55, 0.75) * height
        _draw_subject(draw, rng, scene.subject, x, y, scale)
    pixels = np.asarray(canvas, dtype=np.uint8)
    noise = np.random.default_rng(scene.seed * 1000 + frame_index).integers(-6, 7, pixels.shape)
    pixels = np.clip(pixels.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return _to_night(pixels) if scene.night else pixels


def _background(rng: random.Random, width: int, height: int) -> np.ndarray:
    horizon = int(height * rng.uniform(0.45, 0.6))
    base = np.empty((height, width, 3), dtype=np.uint8)
    base[:horizon] = (rng.randint(60, 95), rng.randint(85, 120), rng.randint(55, 80))
    base[horizon:] = (rng.randint(80, 110), rng.randint(70, 95), rng.randint(45, 65))
    image = Image.fromarray(base)
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 7)):
        trunk_x = rng.uniform(0, width)
        trunk_w = rng.uniform(0.02, 0.06) * width
        shade = rng.randint(35, 70)
        draw.rectangle((trunk_x, 0, trunk_x + trunk_w, horizon + rng.uniform(0, 0.1) * height),
                       fill=(shade + 15, shade, shade - 10))
    return np.asarray(image, dtype=np.uint8)


def _draw_subject(draw: ImageDraw.ImageDraw, rng: random.Random, subject: str,
                  x: float, y: float, scale: float) -> None:
    if subject == "human":
        _draw_human(draw, rng, x, y, scale)
        return
    coat = _COATS[subject]
    long_legs = subject == "sika_deer"
    body_w, body_h = scale * 1.1, scale * (0.35 if subject != "wild_boar" else 0.45)
    leg_h = scale * (0.45 if long_legs else 0.25)
    top = y - leg_h - body_h
    for offset in (0.1, 0.25, 0.7, 0.85):
        leg_x = x + body_w * offset
        draw.rectangle((leg_x, y - leg_h - 2, leg_x + scale * 0.06, y), fill=coat)
    draw.ellipse((x, top, x + body_w, top + body_h), fill=coat)
    head_r = scale * (0.16 if subject != "wild_boar" else 0.2)
    head_x = x + body_w - head_r * 0.3
    head_y = top + (head_r * 0.2 if long_legs else body_h * 0.1)
    if long_legs:
        head_y -= scale * 0.25
        draw.rectangle((head_x - head_r * 0.4, head_y + head_r, head_x + head_r * 0.3, top + body_h * 0.4),
                       fill=coat)
    draw.ellipse((head_x - head_r, head_y, head_x + head_r, head_y + 2 * head_r), fill=coat)
    _draw_pattern(draw, rng, subject, (x, top, x + body_w, top + body_h), scale)


def _draw_pattern(draw: ImageDraw.ImageDraw, rng: random.Random, subject: str,
                  box: tuple[float, float, float, float], scale: float) -> None:
    left, top, right, bottom = box
    if subject == "amur_tiger":
        stripe_w = max(2.0, scale * 0.035)
        for i in range(9):
            sx = left + (right - left) * (0.08 + 0.1 * i)
            draw.line((sx, top + 2, sx + rng.uniform(-0.05, 0.05) * scale, bottom - 3),
                      fill=(20, 14, 10), width=int(stripe_w))
    elif subject in ("amur_leopard", "sika_deer"):
        colour = (35, 25, 15) if subject == "amur_leopard" else (240, 236, 225)
        radius = scale * (0.035 if subject == "amur_leopard" else 0.025)
        count = 26 if subject == "amur_leopard" else 16
        for _ in range(count):
            cx = rng.uniform(left + (right - left) * 0.12, right - (right - left) * 0.12)
            cy = rng.uniform(top + (bottom - top) * 0.2, bottom - (bottom - top) * 0.2)
            if subject == "amur_leopard":
                draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=colour,
                             width=max(2, int(radius * 0.6)))
            else:
                draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=colour)


def _draw_human(draw: ImageDraw.ImageDraw, rng: random.Random, x: float, y: float, scale: float) -> None:
    height = min(scale * 1.3, y * 0.92)
    width = height * 0.28
    clothes = rng.choice([(40, 60, 40), (30, 40, 80), (90, 80, 60), (20, 20, 25)])
    top = y - height
    draw.rectangle((x, y - height * 0.45, x + width * 0.4, y), fill=(30, 30, 35))
    draw.rectangle((x + width * 0.6, y - height * 0.45, x + width, y), fill=(30, 30, 35))
    draw.rectangle((x, top + height * 0.18, x + width, y - height * 0.42), fill=clothes)
    head = width * 0.42
    cx = x + width / 2
    draw.ellipse((cx - head, top, cx + head, top + 2 * head), fill=(205, 160, 130))


def _to_night(pixels: np.ndarray) -> np.ndarray:
    grey = pixels.astype(np.float32).mean(axis=2)
    height, width = grey.shape
    yy, xx = np.mgrid[0:height, 0:width]
    dist = np.hypot((xx - width / 2) / width, (yy - height / 2) / height)
    lamp = np.clip(1.5 - 1.6 * dist, 0.25, 1.3)
    lit = np.clip(grey * lamp + 20, 0, 255).astype(np.uint8)
    return np.repeat(lit[:, :, None], 3, axis=2)
