"""Raspberry Pi camera through picamera2 (imported here only; it exists only on Raspberry Pi OS).

How a capture works:

- The camera is opened, configured and started once (``start()``) and kept running: a trigger costs one
  frame interval, not a camera start. Two streams: ``main`` at the configured size becomes the stored JPEG;
  ``lores`` at the model's input size (the detector's when there is one; scaled by the ISP, free of CPU)
  becomes ``Shot.pixels``; crops for the classifier come from the stored full-resolution JPEG.
- Day or night is decided at the first frame of each burst, with hysteresis: from ``trigger.night`` when
  the trigger source already knows (the companion board), else from ``light()`` (a lux sensor), else from
  the camera's own ``Lux`` estimate. Night means fixed exposure and gain suited to a NoIR camera under the
  IR lamp (and no colour, as IR images have none); day gives exposure back to the camera's AE.
- When this adapter made the night decision itself it lights its ``illuminator`` for each night frame only
  (on, a frame exposed entirely after that, off): the lamp is the biggest load on a field battery. When the
  trigger brought ``night``, the capture worker already lights the lamp for the whole burst.
- Every camera call runs under ``capture_timeout_s``. A call that hangs (libcamera does, with a loose
  ribbon cable or a starved ISP) restarts the camera and tries again; after ``max_restarts`` failures in a
  row the camera is given up: ``failure`` is set, ``on_failure`` is called, and every capture raises
  ``CameraFailedError`` so the daemon can stop and systemd restart the service.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import numpy as np

from station import __version__
from station.errors import HardwareError
from station.hardware.daynight import SETTLE_FRAMES, DayNight, NightSettings, mode_controls, settled
from station.hardware.exif import PhotoFacts, encode_jpeg
from station.hardware.ports import Illuminator, Shot
from station.types import Trigger
from station.wire.ids import iso, utc_now

log = logging.getLogger(__name__)

T = TypeVar("T")

#: ``BGR888`` (libcamera's name) is R, G, B in memory; ``RGB888`` is B, G, R.
_MAIN_FORMAT = "BGR888"


class CameraFailedError(HardwareError):
    """The camera hung or failed again after being restarted: only a restart of the service can help."""


class CameraTimeoutError(HardwareError, TimeoutError):
    """One camera call did not return in time (the camera is then restarted)."""


@dataclasses.dataclass(frozen=True)
class PicameraSettings:
    width: int  # stored image (main stream)
    height: int
    lores_size: tuple[int, int] | None = None  # (width, height) the model wants; None: pixels = main
    jpeg_quality: int = 85
    station_id: str = "station"
    deployment_id: str | None = None
    night: NightSettings = NightSettings()
    capture_timeout_s: float = 5.0
    start_timeout_s: float = 15.0
    max_restarts: int = 2
    camera_num: int = 0
    buffer_count: int = 2  # one frame can be read while the next is exposed


@dataclasses.dataclass
class _Frame:
    """What one request held, copied out before the request went back to the camera."""

    main: np.ndarray | None
    lores: np.ndarray | None
    metadata: dict[str, Any]


class Picamera2Camera:
    """The Pi camera behind the ``Camera`` port. ``Shot.pixels`` is what the classifier should see (the
    low-resolution stream, RGB); ``Shot.jpeg`` is the main stream with EXIF; ``Shot.metadata`` holds the
    sensor timestamp, exposure, gain, lux, night flag and the stored image size (``image_size``)."""

    def __init__(self, settings: PicameraSettings, *, module: Any = None, illuminator: Illuminator | None = None,
                 light: Callable[[], float | None] | None = None,
                 temperature: Callable[[], float | None] | None = None,
                 on_failure: Callable[[HardwareError], None] | None = None) -> None:
        self._settings = settings
        self._module = module  # a stand-in in tests; picamera2 itself on a Pi
        self._lamp, self._light, self._temperature = illuminator, light, temperature
        self._on_failure = on_failure
        self._camera: Any = None
        self._lores_size: tuple[int, int] | None = None
        self._controls: set[str] = set()
        self._has_flush = True
        self._model = ""
        self._daynight = DayNight(settings.night.lux_threshold)
        self._applied_night: bool | None = None  # the mode whose controls the camera has
        self._settling = False
        self._failures = 0
        self.restarts = 0
        self.failure: CameraFailedError | None = None

    @property
    def night(self) -> bool:
        return self._daynight.night

    # -- life cycle ----------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._module is None:
            self._module = _import_picamera2()
        try:
            self._camera = _call_with_timeout(self._open, self._settings.start_timeout_s, "start")
        except Exception as exc:
            raise HardwareError(f"Pi camera did not start: {exc}; check the ribbon cable and "
                                "`rpicam-hello --list-cameras`") from exc

    def stop(self) -> None:
        camera, self._camera = self._camera, None
        if camera is not None:
            _close_quietly(camera, timeout_s=self._settings.capture_timeout_s)

    def _open(self) -> Any:
        camera = self._module.Picamera2(self._settings.camera_num)
        try:
            lores = None if self._settings.lores_size is None else {"size": self._settings.lores_size,
                                                                     "format": "YUV420"}
            config = camera.create_still_configuration(
                main={"size": (self._settings.width, self._settings.height), "format": _MAIN_FORMAT},
                lores=lores, buffer_count=self._settings.buffer_count, queue=True, display=None)
            camera.configure(config)
            # The sizes the hardware chose (aligned), which the lores array will have.
            self._lores_size = tuple(camera.stream_configuration("lores")["size"]) if lores is not None else None
            self._controls = set(getattr(camera, "camera_controls", {}) or {})
            self._has_flush = "flush" in inspect.signature(camera.capture_request).parameters
            self._model = str((getattr(camera, "camera_properties", {}) or {}).get("Model", ""))
            self._applied_night = None
            self._apply_mode(camera, self._daynight.night)
            camera.start()
        except BaseException:
            _close_quietly(camera, timeout_s=self._settings.capture_timeout_s)
            raise
        return camera

    # -- capture -------------------------------------------------------------------------------------------
    def capture(self, trigger: Trigger, frame_index: int) -> Shot:
        if self.failure is not None:
            raise self.failure
        if self._camera is None:
            raise HardwareError("Pi camera used before start() (or after stop())")
        while True:
            try:
                frame = self._capture_frame(trigger, frame_index)
                break
            except Exception as exc:  # a timeout, or any of the many errors libcamera raises
                self._recover(exc)
        self._failures = 0
        return self._shot(frame, trigger, frame_index)

    def _capture_frame(self, trigger: Trigger, frame_index: int) -> _Frame:
        own_lamp = trigger.night is None and self._lamp is not None
        check_frame = False
        if frame_index == 0:
            check_frame = self._decide_before_burst(trigger)
        frame = self._grab_in_mode(own_lamp)
        if check_frame and self._switch_mode(self._daynight.update(frame.metadata.get("Lux"))):
            frame = self._grab_in_mode(own_lamp)  # dusk: that frame was exposed for day; take it for night
        return frame

    def _decide_before_burst(self, trigger: Trigger) -> bool:
        """Choose day or night for this burst; True when the first frame's own light level must confirm it."""
        if trigger.night is not None:
            self._daynight.night = trigger.night
            self._switch_mode(trigger.night)
            return False
        lux = self._external_lux()
        if lux is None and self._daynight.night:
            # Frames lit by the lamp cannot tell dawn: measure now, with the lamp off.
            lux = self._grab(flush=True, arrays=False).metadata.get("Lux")
        self._switch_mode(self._daynight.update(lux))
        return lux is None and not self._daynight.night

    def _grab_in_mode(self, own_lamp: bool) -> _Frame:
        night = self._daynight.night
        lamp = self._lamp if night and own_lamp else None  # own_lamp: there is a lamp
        if lamp is not None:
            lamp.set_level(self._settings.night.lamp_level)
        try:
            # At night the frame must be exposed entirely after the lamp came on: wait for a fresh one.
            frame = self._grab(flush=night or self._settling)
            for _ in range(SETTLE_FRAMES):
                if not self._settling or settled(self._settings.night, bool(self._applied_night), frame.metadata):
                    break
                frame = self._grab(flush=False)
            self._settling = False
        finally:
            if lamp is not None:
                lamp.set_level(0.0)
        return frame

    def _grab(self, *, flush: bool, arrays: bool = True) -> _Frame:
        camera, lores = self._camera, self._lores_size is not None

        def grab() -> _Frame:
            if flush and not self._has_flush:
                camera.capture_request().release()  # older picamera2: drop the frame already in flight
            request = camera.capture_request(flush=True) if flush and self._has_flush else camera.capture_request()
            try:
                return _Frame(main=request.make_array("main") if arrays else None,
                              lores=request.make_array("lores") if arrays and lores else None,
                              metadata=dict(request.get_metadata()))
            finally:
                request.release()

        return _call_with_timeout(grab, self._settings.capture_timeout_s, "capture")

    # -- day and night -------------------------------------------------------------------------------------
    def _switch_mode(self, night: bool) -> bool:
        if night == self._applied_night:
            return False
        self._apply_mode(self._camera, night)
        self._settling = True
        log.info("camera switched to %s exposure", "night (IR)" if night else "day")
        return True

    def _apply_mode(self, camera: Any, night: bool) -> None:
        controls = mode_controls(self._settings.night, night)
        if self._controls:  # picamera2 refuses controls this camera does not advertise
            controls = {name: value for name, value in controls.items() if name in self._controls}
        camera.set_controls(controls)
        self._applied_night = night

    def _external_lux(self) -> float | None:
        return _reading(self._light, "light")

    # -- failures ------------------------------------------------------------------------------------------
    def _recover(self, exc: Exception) -> None:
        """Restart the camera after a failed call, or give it up after too many failures in a row."""
        while True:
            self._failures += 1
            if self._failures > self._settings.max_restarts:
                self._give_up(exc)
            log.warning("Pi camera %s; restarting it (%d of %d)", _describe(exc), self._failures,
                        self._settings.max_restarts)
            old, self._camera = self._camera, None
            _close_quietly(old, timeout_s=self._settings.capture_timeout_s)
            try:
                self._camera = _call_with_timeout(self._open, self._settings.start_timeout_s, "restart")
            except Exception as restart_exc:
                exc = restart_exc
                continue
            self.restarts += 1
            return

    def _give_up(self, exc: Exception) -> None:
        self.failure = CameraFailedError(
            f"Pi camera {_describe(exc)} again after {self._settings.max_restarts} restart(s); the service must "
            "restart (systemd does it). If this repeats, reseat the camera ribbon cable and run "
            "`rpicam-hello --list-cameras`")
        log.error("%s", self.failure)
        old, self._camera = self._camera, None
        if old is not None:
            _close_quietly(old, timeout_s=self._settings.capture_timeout_s)
        if self._on_failure is not None:
            self._on_failure(self.failure)
        raise self.failure from exc

    # -- the shot ------------------------------------------------------------------------------------------
    def _shot(self, frame: _Frame, trigger: Trigger, frame_index: int) -> Shot:
        metadata, main, lores = frame.metadata, frame.main, frame.lores
        if main is None or (self._lores_size is not None and lores is None):  # a metadata-only grab
            raise HardwareError("Pi camera frame without its image arrays cannot become a shot")
        pixels = main if lores is None or self._lores_size is None else yuv420_to_rgb(lores, *self._lores_size)
        taken_at = _exposure_start(metadata)
        facts = PhotoFacts(
            station_id=self._settings.station_id, deployment_id=self._settings.deployment_id,
            trigger_source=trigger.source, trigger_sensor=trigger.sensor, frame_index=frame_index,
            taken_at=taken_at, sensor_timestamp_ns=metadata.get("SensorTimestamp"),
            exposure_us=metadata.get("ExposureTime"), analogue_gain=metadata.get("AnalogueGain"),
            lux=metadata.get("Lux"), night=self._daynight.night,
            temperature_c=_reading(self._temperature, "temperature"), camera_model=self._model,
            software=f"trapd {__version__}")
        jpeg = encode_jpeg(main, quality=self._settings.jpeg_quality, facts=facts)
        height, width = main.shape[:2]
        return Shot(pixels=pixels, jpeg=jpeg, metadata={
            "sensor_timestamp_ns": facts.sensor_timestamp_ns, "exposure_start": iso(taken_at),
            "exposure_us": facts.exposure_us, "analogue_gain": facts.analogue_gain, "lux": facts.lux,
            "night": facts.night, "temperature_c": facts.temperature_c, "image_size": (width, height),
            "camera_restarts": self.restarts})


def yuv420_to_rgb(array: np.ndarray, width: int, height: int) -> np.ndarray:
    """RGB (height, width, 3) from picamera2's YUV420 array: Y rows then U and V planes at half stride,
    full-range BT.601 (the sYCC colour space of a still configuration)."""
    stride = array.shape[1]
    luma = array[:height, :width].astype(np.float32)
    chroma = array[height:height * 3 // 2].reshape(height, stride // 2)
    half_w, half_h = (width + 1) // 2, (height + 1) // 2
    u = chroma[:half_h, :half_w].astype(np.float32) - 128.0
    v = chroma[height // 2:height // 2 + half_h, :half_w].astype(np.float32) - 128.0
    u = u.repeat(2, axis=0).repeat(2, axis=1)[:height, :width]
    v = v.repeat(2, axis=0).repeat(2, axis=1)[:height, :width]
    rgb = np.stack((luma + 1.402 * v, luma - 0.344136 * u - 0.714136 * v, luma + 1.772 * u), axis=-1)
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


def _exposure_start(metadata: dict[str, Any]) -> datetime:
    """Wall-clock time the exposure began: SensorTimestamp (first row read out, CLOCK_MONOTONIC ns, as
    picamera2's own ``flush`` compares it) minus the exposure time."""
    stamp = metadata.get("SensorTimestamp")
    if not stamp:
        return utc_now()
    started_ns = stamp - 1000 * int(metadata.get("ExposureTime") or 0)
    return utc_now() - timedelta(microseconds=(time.monotonic_ns() - started_ns) / 1000)


def _reading(source: Callable[[], float | None] | None, what: str) -> float | None:
    """A sensor reading that must never stop a capture (a missing or failing sensor reads as unknown)."""
    if source is None:
        return None
    try:
        value = source()
    except Exception as exc:
        log.warning("%s reading failed (%s); treated as unknown", what, exc)
        return None
    return None if value is None else float(value)


def _describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, CameraTimeoutError) else f"failed ({type(exc).__name__}: {exc})"


def _call_with_timeout(call: Callable[[], T], timeout_s: float, what: str) -> T:
    """Run ``call`` on a helper thread and wait at most ``timeout_s``. A call that never returns leaves its
    (daemon) thread behind: a hung libcamera call cannot be interrupted, only abandoned."""
    done = threading.Event()
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the waiting thread
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"camera-{what}", daemon=True).start()
    if not done.wait(timeout_s):
        raise CameraTimeoutError(f"{what} timed out after {timeout_s:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _close_quietly(camera: Any, *, timeout_s: float) -> None:
    """Stop and close a camera that may be hung; give up waiting after ``timeout_s``."""

    def close() -> None:
        cancel = getattr(camera, "cancel_all_and_flush", None)
        if cancel is not None:
            cancel()  # picamera2's way to unblock jobs after a timeout so that close can proceed
        camera.stop()
        camera.close()

    try:
        _call_with_timeout(close, timeout_s, "close")
    except Exception as exc:
        log.warning("Pi camera did not close cleanly (%s); abandoning it", exc)


def _import_picamera2() -> Any:
    try:
        import picamera2  # noqa: PLC0415 - lazy on purpose: it exists only on Raspberry Pi OS
    except ImportError as exc:
        raise HardwareError(f"picamera2 is not importable ({exc}); on a Pi install python3-picamera2 and make "
                            "the venv with --system-site-packages") from None
    return picamera2
