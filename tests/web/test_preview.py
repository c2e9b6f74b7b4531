"""The aiming preview shares the camera with the capture worker without ever delaying or joining a burst."""

from __future__ import annotations

import io
import threading

import numpy as np
from PIL import Image

from station.hardware.ports import Shot
from station.hardware.preview import PREVIEW_SOURCE, PreviewCamera
from station.types import Trigger
from station.wire.ids import utc_now


class SlowCamera:
    """Records who captured; each capture takes ``seconds``."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.sources: list[str] = []
        self.inside = threading.Event()

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def capture(self, trigger, frame_index: int) -> Shot:
        self.sources.append(trigger.source)
        self.inside.set()
        threading.Event().wait(self.seconds)
        self.inside.clear()
        return Shot(pixels=np.full((240, 640, 3), 90, np.uint8))


def test_a_preview_is_a_small_jpeg_shared_by_viewers_within_the_interval():
    clock = [0.0]
    camera = PreviewCamera(SlowCamera(), min_interval_s=0.5, clock=lambda: clock[0])
    first = camera.preview_jpeg(max_width=320)
    assert Image.open(io.BytesIO(first)).size == (320, 120)
    assert camera.preview_jpeg(max_width=320) is first  # a second viewer gets the same frame
    clock[0] += 0.6
    assert camera.preview_jpeg(max_width=320) is not first
    assert camera.camera.sources == [PREVIEW_SOURCE, PREVIEW_SOURCE]


def test_no_preview_while_a_sequence_is_open():
    camera = PreviewCamera(SlowCamera(), idle=lambda: False)
    assert camera.preview_jpeg() is None
    assert camera.camera.sources == []


def test_a_preview_never_waits_for_a_capture_in_progress():
    inner = SlowCamera(seconds=0.3)
    camera = PreviewCamera(inner)
    burst = threading.Thread(target=camera.capture, args=(Trigger(source="pir", at=utc_now()), 0))
    burst.start()
    assert inner.inside.wait(2)
    assert camera.preview_jpeg() is None  # the burst holds the camera: the preview gives up at once
    burst.join()
    assert inner.sources == ["pir"]
