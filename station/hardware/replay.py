"""Replay camera: serves a folder of JPEGs (for example an SD card of old trap photos) as if captured."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from station.errors import HardwareError
from station.hardware.ports import Shot
from station.types import Trigger

JPEG_SUFFIXES = {".jpg", ".jpeg", ".JPG", ".JPEG"}


class ReplayCamera:
    """Each capture returns the next JPEG of ``folder`` (sorted by path), bytes unchanged (EXIF kept)."""

    def __init__(self, *, folder: Path, loop: bool = True) -> None:
        self._folder = folder
        self._loop = loop
        self._files: list[Path] = []
        self._next = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        if not self._folder.is_dir():
            raise HardwareError(f"replay camera: {self._folder} is not a folder; set camera.replay_dir")
        self._files = sorted(p for p in self._folder.rglob("*") if p.suffix in JPEG_SUFFIXES and p.is_file())
        if not self._files:
            raise HardwareError(f"replay camera: no .jpg files under {self._folder}")

    def stop(self) -> None:
        return None

    def _next_file(self) -> Path:
        with self._lock:
            if self._next >= len(self._files):
                if not self._loop:
                    raise HardwareError(f"replay camera: all {len(self._files)} files of {self._folder} served")
                self._next = 0
            path = self._files[self._next]
            self._next += 1
            return path

    def capture(self, trigger: Trigger, frame_index: int) -> Shot:
        path = self._next_file()
        try:
            data = path.read_bytes()
            with Image.open(io.BytesIO(data)) as image:
                pixels = np.asarray(image.convert("RGB"))
        except (OSError, UnidentifiedImageError) as exc:
            raise HardwareError(f"replay camera: cannot read {path}: {exc}") from exc
        return Shot(pixels=pixels, jpeg=data, metadata={"replay_file": str(path)})
