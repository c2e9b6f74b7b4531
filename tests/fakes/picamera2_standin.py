"""A stand-in for the parts of picamera2 the station's camera adapter uses, behaving like the real thing
where it matters (read from raspberrypi/picamera2):

- ``Picamera2(camera_num)`` acquires the camera; a second one fails while the first is not closed.
- ``create_still_configuration``/``create_video_configuration`` take ``main``/``lores`` dicts with only the
  keys picamera2 accepts; ``lores`` defaults to YUV420 and must be YUV420 and no larger than ``main`` (a Pi 4
  and earlier); ``configure`` refuses a started camera; ``stream_configuration(name)`` gives the sizes the
  hardware chose.
- ``BGR888`` arrays are R, G, B in memory, ``RGB888`` B, G, R; a YUV420 array is (height * 3 / 2, stride)
  with U and V planes at half stride, as ``make_array`` returns it.
- ``set_controls`` refuses controls the camera does not advertise; controls reach the frames
  ``control_latency`` frames later; ``ExposureTime``/``AnalogueGain`` of 0 mean automatic.
- ``capture_request(flush=True)`` returns a frame exposed after the call; a request must be ``release()``d or
  the camera runs out of buffers; metadata has ``SensorTimestamp`` (CLOCK_MONOTONIC ns, first row read out),
  ``ExposureTime``, ``AnalogueGain``, ``Lux`` and ``AeLocked``.
- A hung camera: ``world.hang(n)`` makes the next n ``capture_request`` calls block like a wedged libcamera
  until ``cancel_all_and_flush()`` (picamera2's way to unblock them) or ``world.release_hangs()``;
  ``world.wedge()`` makes ``close()`` hang too, so the device stays acquired.

The test owns a ``CameraWorld`` (the scene and the camera stack) and passes it as the ``module``.
"""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import CancelledError
from typing import Any

import numpy as np
from PIL import Image

ADVERTISED = {"ExposureTime": (1, 66_666_666, 20_000), "AnalogueGain": (1.0, 16.0, 1.0),
              "AeEnable": (False, True, True), "Saturation": (0.0, 32.0, 1.0), "AwbEnable": (False, True, True)}
DAY_RGB = (200, 120, 40)
_STREAM_KEYS = ("format", "size", "stride", "preserve_ar")


class CameraWorld:
    """What is in front of the lens, and how the camera stack behaves. Used as the ``picamera2`` module."""

    def __init__(self, *, ambient_lux: float = 400.0, lamp: Any = None, lamp_lux: float = 300.0,
                 sensor_size: tuple[int, int] = (4608, 2592), control_latency: int = 2,
                 flush_supported: bool = True, model: str = "imx708_noir") -> None:
        self.ambient_lux = ambient_lux
        self.lamp, self.lamp_lux = lamp, lamp_lux  # an illuminator whose .level lights the scene
        self.sensor_size, self.control_latency, self.model = sensor_size, control_latency, model
        self.flush_supported = flush_supported
        self.cameras: list[StandInCamera] = []
        self.frames: list[dict[str, Any]] = []  # every frame exposed, with the lamp level during exposure
        self._lock = threading.Lock()
        self._hangs = 0
        self._wedged = False
        self._release = threading.Event()
        self._changed = threading.Condition()
        self.hanging = threading.Event()  # set while a call hangs (tests wait on it, never sleep)

    # -- the module's API --------------------------------------------------------------------------------------
    def Picamera2(self, camera_num: int = 0, **_: Any) -> StandInCamera:  # noqa: N802 - picamera2's name
        with self._lock:
            if any(not camera.closed for camera in self.cameras):
                raise RuntimeError("Failed to acquire camera: Device or resource busy")
            camera = StandInCamera(self, camera_num)
            self.cameras.append(camera)
        return camera

    # -- what tests do to the camera stack ---------------------------------------------------------------------
    def hang(self, count: int = 1) -> None:
        """The next ``count`` capture_request calls block like a wedged libcamera."""
        with self._lock:
            self._hangs += count
            self._release.clear()

    def wedge(self) -> None:
        """Everything hangs, close() included: only a new process would get the camera back."""
        with self._lock:
            self._wedged = True
            self._hangs = 1_000_000
            self._release.clear()

    def release_hangs(self) -> None:
        with self._lock:
            self._hangs, self._wedged = 0, False
        with self._changed:
            self._release.set()
            self._changed.notify_all()

    @property
    def lamp_level(self) -> float:
        return float(getattr(self.lamp, "level", 0.0) or 0.0)

    def take_hang(self) -> bool:
        with self._lock:
            if self._hangs <= 0:
                return False
            self._hangs -= 1
            return True

    def block(self, cancelled: threading.Event) -> None:
        """Block as a hung call does: until cancelled (CancelledError; not when wedged) or released."""
        with self._changed:
            self.hanging.set()
            self._changed.wait_for(lambda: self._release.is_set() or (cancelled.is_set() and not self._wedged))
        if not self._release.is_set():
            raise CancelledError()
        raise RuntimeError("stand-in: camera released by the test")

    def cancel(self, cancelled: threading.Event) -> None:
        with self._changed:
            cancelled.set()
            self._changed.notify_all()

    @property
    def wedged(self) -> bool:
        return self._wedged


class StandInCamera:
    """One ``Picamera2`` instance."""

    def __init__(self, world: CameraWorld, camera_num: int) -> None:
        self._world = world
        self.camera_num = camera_num
        self.sensor_resolution = world.sensor_size
        self.camera_controls = dict(ADVERTISED)
        self.camera_properties = {"Model": world.model, "PixelArraySize": world.sensor_size}
        self.config: dict[str, Any] | None = None
        self.configure_calls = self.start_calls = 0
        self.started = self.closed = False
        self.controls: dict[str, Any] = {}  # as applied to frames
        self.control_history: list[dict[str, Any]] = []
        self._pending: list[tuple[int, dict[str, Any]]] = []
        self._frame = 0
        self._auto_since = 0
        self.outstanding = 0
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        if not world.flush_supported:  # an older picamera2
            self.capture_request = self._capture_request_without_flush  # type: ignore[method-assign]

    # -- configuration -----------------------------------------------------------------------------------------
    def create_still_configuration(self, main: dict | None = None, lores: dict | None = None, raw: dict | None = None,
                                   transform: Any = None, colour_space: Any = None, buffer_count: int = 1,
                                   controls: dict | None = None, display: str | None = None,
                                   encode: str | None = None, queue: bool = True, sensor: dict | None = None,
                                   use_case: str = "still") -> dict[str, Any]:
        return self._configuration(use_case, {"format": "BGR888", "size": self.sensor_resolution}, main, lores,
                                   buffer_count, queue, controls)

    def create_video_configuration(self, main: dict | None = None, lores: dict | None = None, raw: dict | None = None,
                                   transform: Any = None, colour_space: Any = None, buffer_count: int = 6,
                                   controls: dict | None = None, display: str | None = "main",
                                   encode: str | None = "main", queue: bool = True, sensor: dict | None = None,
                                   use_case: str = "video") -> dict[str, Any]:
        return self._configuration(use_case, {"format": "XBGR8888", "size": (1280, 720)}, main, lores,
                                   buffer_count, queue, controls)

    def _configuration(self, use_case: str, main_default: dict, main: dict | None, lores: dict | None,
                       buffer_count: int, queue: bool, controls: dict | None) -> dict[str, Any]:
        main_stream = _stream(dict(main_default, preserve_ar=True), main or {})
        lores_stream = None if lores is None else _stream(
            {"format": "YUV420", "size": main_stream["size"], "preserve_ar": False}, lores)
        return {"use_case": use_case, "buffer_count": buffer_count, "queue": queue, "main": main_stream,
                "lores": lores_stream, "controls": dict(controls or {})}

    def configure(self, config: dict[str, Any]) -> None:
        if self.started:
            raise RuntimeError("Camera must be stopped before configuring")
        lores, main = config.get("lores"), config["main"]
        if lores is not None:
            if lores["format"] != "YUV420":
                raise RuntimeError("lores stream must be YUV420 on this platform")
            if lores["size"][0] > main["size"][0] or lores["size"][1] > main["size"][1]:
                raise RuntimeError("lores stream dimensions may not exceed main stream")
        self.config = config
        self.configure_calls += 1

    def camera_configuration(self) -> dict[str, Any]:
        return self.config

    def stream_configuration(self, name: str = "main") -> dict[str, Any]:
        return self.config[name]

    def start(self) -> None:
        if self.config is None:
            raise RuntimeError("Camera has not been configured")
        self.started = True
        self.start_calls += 1

    def stop(self) -> None:
        if self._world.wedged:
            self._world.block(threading.Event())
        self.started = False

    def close(self) -> None:
        self.stop()
        self.closed = True

    def cancel_all_and_flush(self) -> None:
        self._world.cancel(self._cancelled)

    def set_controls(self, controls: dict[str, Any]) -> None:
        for name in controls:
            if name not in self.camera_controls:
                raise RuntimeError(f"Control {name} is not advertised by libcamera")
        with self._lock:
            self.control_history.append(dict(controls))
            self._pending.append((self._frame + self._world.control_latency, dict(controls)))

    # -- capture -----------------------------------------------------------------------------------------------
    def capture_request(self, wait: Any = None, signal_function: Any = None, flush: Any = None) -> StandInRequest:
        return self._next_request(flushed=bool(flush))

    def _capture_request_without_flush(self, wait: Any = None, signal_function: Any = None) -> StandInRequest:
        return self._next_request(flushed=False)

    def capture_metadata(self, wait: Any = None, signal_function: Any = None) -> dict[str, Any]:
        request = self._next_request()
        try:
            return request.get_metadata()
        finally:
            request.release()

    def _next_request(self, *, flushed: bool = False) -> StandInRequest:
        if not self.started:
            raise RuntimeError("Camera is not running")
        if self._world.take_hang():
            self._world.block(self._cancelled)
        if self.outstanding >= self.config["buffer_count"]:
            raise RuntimeError(f"stand-in: all {self.config['buffer_count']} buffers are held by requests never "
                               "released; a real camera would stall here")
        with self._lock:
            self._frame += 1
            self._apply_due_controls()
            metadata = self._metadata(flushed)
        self.outstanding += 1
        return StandInRequest(self, metadata)

    def _apply_due_controls(self) -> None:
        due = [controls for frame, controls in self._pending if frame <= self._frame]
        self._pending = [(frame, controls) for frame, controls in self._pending if frame > self._frame]
        for controls in due:
            if controls.get("ExposureTime") == 0 and self.controls.get("ExposureTime"):
                self._auto_since = self._frame
            self.controls.update(controls)

    def _metadata(self, flushed: bool) -> dict[str, Any]:
        lamp = self._world.lamp_level
        lux = self._world.ambient_lux + lamp * self._world.lamp_lux
        manual = bool(self.controls.get("ExposureTime"))
        exposure = int(self.controls["ExposureTime"]) if manual else int(min(33_000, 2_000_000 / (lux + 1)))
        gain = float(self.controls.get("AnalogueGain") or 0.0) if manual else 1.0
        frame = {"SensorTimestamp": time.monotonic_ns() - 1_000_000, "ExposureTime": exposure,
                 "AnalogueGain": gain or 1.0, "Lux": lux, "AeLocked": manual or self._frame - self._auto_since >= 2,
                 "FrameDuration": max(exposure, 33_333)}
        self._world.frames.append({"lamp": lamp, "controls": dict(self.controls), "frame": self._frame,
                                   "flushed": flushed, "camera": self, **frame})
        return frame

    def pixels(self, name: str) -> np.ndarray:
        stream = self.config[name]
        width, height = stream["size"]
        grey = self.controls.get("Saturation") == 0.0
        rgb = (160, 160, 160) if grey else DAY_RGB
        if stream["format"] == "YUV420":
            return _yuv420(rgb, width, height)
        order = rgb[::-1] if stream["format"] == "RGB888" else rgb
        return np.broadcast_to(np.array(order, dtype=np.uint8), (height, width, 3)).copy()

    def released(self) -> None:
        self.outstanding -= 1


class StandInRequest:
    """A completed request: arrays and metadata until ``release()`` hands its buffers back."""

    def __init__(self, camera: StandInCamera, metadata: dict[str, Any]) -> None:
        self._camera = camera
        self._metadata = metadata
        self._released = False

    def _check(self) -> None:
        if self._released:
            raise RuntimeError("CompletedRequest: used after release()")

    def make_array(self, name: str) -> np.ndarray:
        self._check()
        if self._camera.config.get(name) is None:
            raise RuntimeError(f"Stream {name!r} is not defined")
        return self._camera.pixels(name)

    def get_metadata(self) -> dict[str, Any]:
        self._check()
        return dict(self._metadata)

    def save(self, name: str, file_output: Any, format: str | None = None, exif_data: dict | None = None) -> None:
        self._check()
        array = self.make_array(name)
        if self._camera.config[name]["format"] == "RGB888":
            array = array[..., ::-1]
        Image.fromarray(np.ascontiguousarray(array)).save(file_output, format=format or "jpeg")

    def release(self) -> None:
        if self._released:
            raise RuntimeError("CompletedRequest: lock now has negative ref_count")
        self._released = True
        self._camera.released()


def _stream(defaults: dict[str, Any], updates: dict[str, Any]) -> dict[str, Any]:
    for key in updates:
        if key not in _STREAM_KEYS:
            raise ValueError(f"Bad key {key!r}: valid stream configuration keys are {_STREAM_KEYS}")
    stream = defaults | updates
    width, height = stream["size"]
    stream["size"] = (width - width % 2, height - height % 2)  # picamera2's align_stream(optimal=False)
    return stream


def _yuv420(rgb: tuple[int, int, int], width: int, height: int) -> np.ndarray:
    """A flat colour as picamera2 returns a YUV420 buffer: padded stride, U and V planes at half stride."""
    red, green, blue = rgb
    y = 0.299 * red + 0.587 * green + 0.114 * blue
    u = 128 - 0.168736 * red - 0.331264 * green + 0.5 * blue
    v = 128 + 0.5 * red - 0.418688 * green - 0.081312 * blue
    stride = -(-width // 64) * 64
    array = np.zeros((height * 3 // 2, stride), dtype=np.uint8)
    array[:height, :width] = _byte(y)
    chroma = array[height:].reshape(height, stride // 2)  # a view: writes land in the buffer
    chroma[:height // 2, :width // 2] = _byte(u)
    chroma[height // 2:, :width // 2] = _byte(v)
    return array


def _byte(value: float) -> int:
    return max(0, min(255, round(value)))


def jpeg_pixels(jpeg: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(jpeg)) as image:
        return np.asarray(image.convert("RGB"))
