"""A camera shared between the capture worker and the ranger's aiming preview, where bursts always win.

The capture worker keeps the only real hold on the camera. ``PreviewCamera`` wraps it: every capture takes
a lock, and a preview frame is taken only when the station is idle (no sequence open, no trigger waiting,
the lock free at that moment). A preview never waits for the camera and is never stored or classified;
at worst a trigger arriving during a preview frame waits for that one frame. Previews are also rate-limited
(one real capture per ``min_interval_s``, shared by every viewer), so an open aiming page costs little.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable

from PIL import Image

from station.errors import HardwareError
from station.hardware.ports import Camera, Shot
from station.types import Trigger
from station.wire.ids import utc_now

PREVIEW_SOURCE = "preview"  # the trigger source of preview frames (a simulated camera shows an empty scene)


class PreviewCamera:
    """A ``Camera`` (delegating to ``camera``) that can also hand out small preview JPEGs between bursts."""

    def __init__(self, camera: Camera, *, idle: Callable[[], bool] = lambda: True, min_interval_s: float = 0.5,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.camera = camera
        self._idle = idle
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last: tuple[float, int, bytes] | None = None  # (taken at, width, jpeg)
        self.previews = 0

    def set_idle(self, idle: Callable[[], bool]) -> None:
        """How to tell the station is between sequences (set once the pipeline exists)."""
        self._idle = idle

    # -- the Camera port: what the capture worker uses ------------------------------------------------------
    def start(self) -> None:
        self.camera.start()

    def stop(self) -> None:
        with self._lock:
            self.camera.stop()

    def capture(self, trigger: Trigger, frame_index: int) -> Shot:
        with self._lock:
            return self.camera.capture(trigger, frame_index)

    # -- the preview ----------------------------------------------------------------------------------------
    def preview_jpeg(self, max_width: int = 480, quality: int = 60) -> bytes | None:
        """A small JPEG of what the camera sees now; None while the camera is busy with a sequence."""
        last = self._last
        if last is not None and last[1] == max_width and self._clock() - last[0] < self._min_interval_s:
            return last[2]
        if not self._idle() or not self._lock.acquire(blocking=False):
            return None
        try:
            if not self._idle():  # a trigger may have come while the lock was being taken
                return None
            shot = self.camera.capture(Trigger(source=PREVIEW_SOURCE, at=utc_now(), subject="blank"), 0)
        except HardwareError:
            return None
        finally:
            self._lock.release()
        jpeg = small_jpeg(shot, max_width, quality)
        self._last = (self._clock(), max_width, jpeg)
        self.previews += 1
        return jpeg


def small_jpeg(shot: Shot, max_width: int, quality: int) -> bytes:
    """The shot scaled down to ``max_width``: from its JPEG when it has one (the decoder scales for free)."""
    if shot.jpeg is not None:
        image: Image.Image = Image.open(io.BytesIO(shot.jpeg))
        image.draft("RGB", (max_width, max_width))
    else:
        image = Image.fromarray(shot.pixels)
    image = image.convert("RGB")
    image.thumbnail((max_width, max_width * 2))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()
