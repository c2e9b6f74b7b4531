"""Raspberry Pi camera through picamera2 (imported here only; it exists only on Raspberry Pi OS).

The camera is configured once and kept running, so a trigger costs one frame interval, not a start-up.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from station.errors import HardwareError
from station.hardware.ports import Shot
from station.types import Trigger


class Picamera2Camera:
    def __init__(self, *, width: int, height: int, module: Any = None) -> None:
        self._size = (width, height)
        self._module = module  # a stand-in in tests; picamera2 itself on a Pi
        self._camera: Any = None

    def start(self) -> None:
        module = self._module
        if module is None:
            try:
                import picamera2 as module  # noqa: PLC0415 - lazy on purpose
            except ImportError as exc:
                raise HardwareError(f"picamera2 is not importable ({exc}); on a Pi install python3-picamera2 "
                                    "and make the venv with --system-site-packages") from None
        try:
            camera = module.Picamera2()
            config = camera.create_still_configuration(main={"size": self._size, "format": "RGB888"})
            camera.configure(config)
            camera.start()
        except Exception as exc:  # libcamera raises many kinds; all mean "no camera"
            raise HardwareError(f"Pi camera did not start: {exc}; check the ribbon cable and "
                                "`rpicam-hello --list-cameras`") from None
        self._camera = camera

    def capture(self, trigger: Trigger, frame_index: int) -> Shot:
        if self._camera is None:
            raise HardwareError("Pi camera used before start()")
        try:
            request = self._camera.capture_request()
            try:
                pixels = np.ascontiguousarray(request.make_array("main")[..., ::-1])  # BGR in memory -> RGB
                metadata = dict(request.get_metadata())
                out = io.BytesIO()
                request.save("main", out, format="jpeg")
            finally:
                request.release()
        except HardwareError:
            raise
        except Exception as exc:
            raise HardwareError(f"Pi camera capture failed: {exc}") from None
        return Shot(pixels=pixels, jpeg=out.getvalue(), metadata=metadata)

    def stop(self) -> None:
        if self._camera is not None:
            self._camera.stop()
            self._camera.close()
            self._camera = None
