"""The picamera2 adapter against a stand-in that imitates picamera2 (tests/fakes/picamera2_standin.py), and,
opt-in, against a real Pi camera (``TRAPD_HARDWARE_TESTS=1 pytest -m hardware tests/test_picamera.py``)."""

from __future__ import annotations

import io
import os
import sys
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image

from station.errors import HardwareError
from station.hardware.daynight import NightSettings
from station.hardware.exif import read_facts
from station.hardware.picamera import CameraFailedError, Picamera2Camera, PicameraSettings, yuv420_to_rgb
from station.hardware.simulated import SimulatedIlluminator
from station.types import Trigger
from station.wire.ids import utc_now
from tests.fakes.picamera2_standin import DAY_RGB, CameraWorld, _yuv420, jpeg_pixels

NIGHT = NightSettings(lux_threshold=10.0, exposure_us=20_000, analogue_gain=8.0, lamp_level=1.0)


@pytest.fixture
def lamp() -> SimulatedIlluminator:
    return SimulatedIlluminator()


@pytest.fixture
def world(lamp):
    made = CameraWorld(lamp=lamp)
    yield made
    made.release_hangs()  # let any abandoned (hung) call return, so no thread outlives the test


def make_camera(world, *, lamp=None, lores=(224, 224), timeout_s: float = 5.0, max_restarts: int = 2,
                **kwargs) -> Picamera2Camera:
    settings = PicameraSettings(width=640, height=480, lores_size=lores, station_id="llnp-0412",
                                deployment_id="dep-7", night=NIGHT, capture_timeout_s=timeout_s,
                                start_timeout_s=5.0, max_restarts=max_restarts)
    camera = Picamera2Camera(settings, module=world, illuminator=lamp, **kwargs)
    camera.start()
    return camera


def pir(sensor: int = 17, night: bool | None = None) -> Trigger:
    return Trigger(source="pir", at=utc_now(), sensor=sensor, night=night)


def burst(camera: Picamera2Camera, trigger: Trigger, frames: int = 3) -> list:
    return [camera.capture(trigger, index) for index in range(frames)]


# -- kept running, two streams -------------------------------------------------------------------------------
def test_camera_is_configured_once_and_kept_running_across_bursts(world):
    camera = make_camera(world)
    for _ in range(5):
        burst(camera, pir())
    assert len(world.cameras) == 1
    stand_in = world.cameras[0]
    assert (stand_in.configure_calls, stand_in.start_calls, stand_in.started) == (1, 1, True)
    assert stand_in.config["main"] == {"format": "BGR888", "size": (640, 480), "preserve_ar": True}
    assert stand_in.config["lores"]["size"] == (224, 224) and stand_in.config["lores"]["format"] == "YUV420"
    assert stand_in.outstanding == 0, "every request went back to the camera"
    camera.stop()
    assert stand_in.closed


def test_pixels_are_the_lores_stream_in_rgb_and_the_jpeg_is_the_main_stream(world):
    camera = make_camera(world)
    shot = camera.capture(pir(), 0)
    assert shot.pixels.shape == (224, 224, 3) and shot.pixels.dtype == np.uint8
    assert np.abs(shot.pixels.astype(int) - DAY_RGB).max() <= 2
    stored = jpeg_pixels(shot.jpeg)
    assert stored.shape == (480, 640, 3) and np.abs(stored.astype(int) - DAY_RGB).max() <= 3
    assert shot.metadata["image_size"] == (640, 480)


def test_without_a_lores_stream_the_pixels_are_the_main_stream(world):
    camera = make_camera(world, lores=None)
    shot = camera.capture(pir(), 0)
    assert world.cameras[0].config["lores"] is None
    assert shot.pixels.shape == (480, 640, 3) and tuple(shot.pixels[0, 0]) == DAY_RGB


@settings(max_examples=40, deadline=None)
@example(rgb=(255, 0, 0), width=2, height=2)  # chroma at its limits
@example(rgb=(0, 0, 255), width=66, height=4)  # stride padded to 128
@given(rgb=st.tuples(*[st.integers(0, 255)] * 3), width=st.integers(1, 80).map(lambda n: 2 * n),
       height=st.integers(1, 60).map(lambda n: 2 * n))
def test_yuv420_to_rgb_recovers_the_colour_through_padding_and_half_stride_planes(rgb, width, height):
    rgb_out = yuv420_to_rgb(_yuv420(rgb, width, height), width, height)
    assert rgb_out.shape == (height, width, 3)
    assert np.abs(rgb_out.astype(int) - rgb).max() <= 3  # 8-bit YUV rounding


# -- EXIF and the sensor's timestamp --------------------------------------------------------------------------
def test_every_jpeg_carries_exif_that_says_when_where_and_why(world):
    camera = make_camera(world, temperature=lambda: -23.5)
    shots = burst(camera, pir(sensor=17))
    for index, shot in enumerate(shots):
        with Image.open(io.BytesIO(shot.jpeg)) as image:
            exif = image.getexif()
        sub = exif.get_ifd(ExifTags.IFD.Exif)
        assert exif[ExifTags.Base.Make] == "Raspberry Pi" and exif[ExifTags.Base.Model] == "imx708_noir"
        assert exif[ExifTags.Base.Software].startswith("trapd ")
        assert sub[ExifTags.Base.BodySerialNumber] == "llnp-0412"
        assert float(sub[ExifTags.Base.AmbientTemperature]) == -23.5
        assert float(sub[ExifTags.Base.ExposureTime]) == pytest.approx(shot.metadata["exposure_us"] / 1e6)
        taken = datetime.strptime(sub[ExifTags.Base.DateTimeOriginal], "%Y:%m:%d %H:%M:%S")
        started = datetime.fromisoformat(shot.metadata["exposure_start"].replace("Z", "+00:00"))
        assert taken.replace(tzinfo=UTC) == started.replace(microsecond=0)
        assert sub[ExifTags.Base.OffsetTimeOriginal] == "+00:00"
        facts = read_facts(shot.jpeg)
        assert facts["station_id"] == "llnp-0412" and facts["deployment_id"] == "dep-7"
        assert (facts["trigger"], facts["sensor"], facts["frame"]) == ("pir", 17, index)
        assert facts["temperature_c"] == -23.5 and facts["night"] is False and facts["clock"] == "set"
        assert facts["sensor_timestamp_ns"] == shot.metadata["sensor_timestamp_ns"]


def test_the_sensor_timestamp_is_recorded_and_dates_the_exposure(world):
    camera = make_camera(world)
    before = utc_now()
    shot = camera.capture(pir(), 0)
    delivered = [frame for frame in world.frames if frame["camera"] is world.cameras[0]][-1]
    assert shot.metadata["sensor_timestamp_ns"] == delivered["SensorTimestamp"]
    started = datetime.fromisoformat(shot.metadata["exposure_start"].replace("Z", "+00:00"))
    # stand-in: first row read out 1 ms before the call returned, exposure began ExposureTime before that
    assert before - timedelta(seconds=1) < started <= utc_now()


def test_an_unset_clock_is_not_written_as_a_capture_time(world, monkeypatch):
    import station.hardware.picamera as picamera

    monkeypatch.setattr(picamera, "utc_now", lambda: datetime(1970, 1, 1, 0, 5, tzinfo=UTC))
    shot = make_camera(world).capture(pir(), 0)
    with Image.open(io.BytesIO(shot.jpeg)) as image:
        assert ExifTags.Base.DateTimeOriginal not in image.getexif().get_ifd(ExifTags.IFD.Exif)
    assert read_facts(shot.jpeg)["clock"] == "unset" and read_facts(shot.jpeg)["taken_at"] is None


# -- day and night -------------------------------------------------------------------------------------------------
def test_night_exposure_and_lamp_when_dark_and_day_restored_at_dawn(world, lamp):
    camera = make_camera(world, lamp=lamp)
    stand_in = world.cameras[0]
    burst(camera, pir())
    assert stand_in.controls["ExposureTime"] == 0 and stand_in.controls["AeEnable"] is True
    assert lamp.history == []

    world.ambient_lux = 1.0  # dusk
    shots = burst(camera, pir())
    assert stand_in.control_history[-1] == {"ExposureTime": 20_000, "AnalogueGain": 8.0, "AeEnable": False,
                                            "Saturation": 0.0}
    assert all(shot.metadata["night"] and shot.metadata["exposure_us"] == 20_000 for shot in shots)
    assert all(read_facts(shot.jpeg)["night"] for shot in shots)
    assert np.abs(shots[0].pixels.astype(int) - 160).max() <= 2, "night frames carry no colour"
    delivered = [f for f in world.frames if f["SensorTimestamp"] in {s.metadata["sensor_timestamp_ns"] for s in shots}]
    assert len(delivered) == 3 and all(f["lamp"] == 1.0 for f in delivered), "each night frame lit by the lamp"
    assert lamp.level == 0.0 and lamp.history[-2:] == [1.0, 0.0], "the lamp is off between frames"

    world.ambient_lux = 500.0  # dawn: measured with the lamp off, so the lamp's own light cannot fool it
    shots = burst(camera, pir())
    assert stand_in.control_history[-1] == {"ExposureTime": 0, "AnalogueGain": 0.0, "AeEnable": True,
                                            "Saturation": 1.0}
    assert not any(shot.metadata["night"] for shot in shots)
    assert shots[0].metadata["exposure_us"] != 20_000, "frames taken after the day controls took effect"
    assert lamp.level == 0.0 and np.abs(shots[0].pixels.astype(int) - DAY_RGB).max() <= 2


def test_the_lamp_lit_scene_does_not_end_the_night(world, lamp):
    world.lamp_lux = 10_000.0  # the lamp floods the camera's own lux estimate while it is on
    world.ambient_lux = 1.0
    camera = make_camera(world, lamp=lamp)
    for _ in range(3):
        assert all(shot.metadata["night"] for shot in burst(camera, pir()))


def test_day_and_night_switch_with_hysteresis(world):
    camera = make_camera(world)
    world.ambient_lux = 12.0  # above the threshold: still day
    assert not camera.capture(pir(), 0).metadata["night"]
    world.ambient_lux = 5.0
    assert camera.capture(pir(), 0).metadata["night"]
    world.ambient_lux = 15.0  # brighter, but below twice the threshold: still night
    assert camera.capture(pir(), 0).metadata["night"]
    world.ambient_lux = 25.0
    assert not camera.capture(pir(), 0).metadata["night"]


def test_an_external_light_reading_decides_without_extra_frames(world):
    lux = {"value": 400.0}
    camera = make_camera(world, light=lambda: lux["value"])
    burst(camera, pir())
    frames_before = len(world.frames)
    lux["value"] = 2.0
    world.ambient_lux = 400.0  # the camera's own estimate says day; the lux sensor is believed
    shots = burst(camera, pir())
    assert all(shot.metadata["night"] for shot in shots)
    assert len(world.frames) - frames_before <= 3 + 2, "only settling frames beyond the burst itself"


def test_a_failing_light_sensor_reads_as_unknown(world):
    def broken() -> float:
        raise OSError("i2c bus error")

    camera = make_camera(world, light=broken)
    world.ambient_lux = 1.0
    assert camera.capture(pir(), 0).metadata["night"], "fell back to the camera's own light estimate"


def test_a_trigger_that_knows_it_is_night_is_believed_and_its_lamp_left_to_the_capture_worker(world, lamp):
    camera = make_camera(world, lamp=lamp)
    shot = camera.capture(pir(night=True), 0)
    assert shot.metadata["night"] and world.cameras[0].controls["ExposureTime"] == 20_000
    assert lamp.history == [], "the board's burst-long lamp is switched by the capture worker"


def test_older_picamera2_without_flush_drops_a_frame_instead(lamp):
    world = CameraWorld(lamp=lamp, flush_supported=False, ambient_lux=1.0)
    camera = make_camera(world, lamp=lamp)
    shot = camera.capture(pir(), 0)
    assert shot.metadata["night"] and world.cameras[0].outstanding == 0


# -- a hung camera ----------------------------------------------------------------------------------------------------
def test_a_hung_capture_restarts_the_camera_and_the_capture_succeeds(world, caplog):
    camera = make_camera(world, timeout_s=0.5)
    camera.capture(pir(), 0)
    world.hang(1)
    shot = camera.capture(pir(), 1)
    assert world.hanging.is_set() and camera.restarts == 1
    assert len(world.cameras) == 2 and world.cameras[0].closed, "the hung camera was closed and a new one opened"
    assert world.cameras[1].configure_calls == 1 and world.cameras[1].started
    assert shot.pixels.shape == (224, 224, 3) and read_facts(shot.jpeg)["frame"] == 1
    assert "restarting it (1 of 2)" in caplog.text
    burst(camera, pir())  # and it keeps working
    assert camera.failure is None


def test_a_restarted_camera_keeps_the_night_mode(world, lamp):
    world.ambient_lux = 1.0
    camera = make_camera(world, lamp=lamp, timeout_s=0.5)
    camera.capture(pir(), 0)
    world.hang(1)
    shot = camera.capture(pir(), 1)
    assert shot.metadata["night"] and world.cameras[1].control_history[0]["ExposureTime"] == 20_000


def test_repeated_hangs_give_up_with_an_error_the_daemon_reports(world):
    failures: list[HardwareError] = []
    camera = make_camera(world, timeout_s=0.5, max_restarts=2, on_failure=failures.append)
    world.hang(100)
    with pytest.raises(CameraFailedError, match="systemd") as raised:
        camera.capture(pir(), 0)
    assert isinstance(raised.value, HardwareError)
    assert failures == [raised.value] and camera.failure is raised.value
    assert camera.restarts == 2 and len(world.cameras) == 3
    with pytest.raises(CameraFailedError):  # given up for good: fails at once, no more waiting
        camera.capture(pir(), 0)
    camera.stop()


def test_a_wedged_camera_that_cannot_even_close_is_given_up(world):
    camera = make_camera(world, timeout_s=0.5, max_restarts=2)
    world.wedge()
    with pytest.raises(CameraFailedError, match="ribbon cable"):
        camera.capture(pir(), 0)
    assert camera.restarts == 0, "the device stayed busy: no restart could succeed"


# -- start-up errors ------------------------------------------------------------------------------------------------
def test_a_camera_that_cannot_start_says_what_to_check(world):
    class NoCamera:
        def Picamera2(self, camera_num=0):  # noqa: N802
            raise IndexError("list index out of range")  # what picamera2 raises with no camera attached

    with pytest.raises(HardwareError, match="ribbon cable"):
        make_camera(NoCamera())


def test_lores_larger_than_main_is_refused_at_start(world):
    with pytest.raises(HardwareError, match="lores stream dimensions"):
        make_camera(world, lores=(1280, 960))


def test_without_picamera2_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import picamera2 -> ImportError
    camera = Picamera2Camera(PicameraSettings(width=640, height=480))
    with pytest.raises(HardwareError, match="python3-picamera2"):
        camera.start()


# -- real hardware (opt-in) --------------------------------------------------------------------------------------------
hardware = pytest.mark.skipif(os.environ.get("TRAPD_HARDWARE_TESTS") != "1",
                              reason="needs a Pi camera: set TRAPD_HARDWARE_TESTS=1 and run -m hardware")


@pytest.mark.hardware
@hardware
def test_real_camera_bursts_with_two_streams_exif_and_timestamps():
    camera = Picamera2Camera(PicameraSettings(width=1920, height=1080, lores_size=(224, 224), station_id="bench"))
    camera.start()
    try:
        shots = burst(camera, pir(), frames=3)
    finally:
        camera.stop()
    stamps = [shot.metadata["sensor_timestamp_ns"] for shot in shots]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    assert all(shot.pixels.shape == (224, 224, 3) for shot in shots)
    assert jpeg_pixels(shots[0].jpeg).shape == (1080, 1920, 3)
    assert read_facts(shots[0].jpeg)["station_id"] == "bench"


@pytest.mark.hardware
@hardware
def test_real_camera_switches_to_night_exposure():
    lux = {"value": 1.0}
    camera = Picamera2Camera(PicameraSettings(width=1280, height=720, lores_size=(224, 224), night=NIGHT),
                             light=lambda: lux["value"])
    camera.start()
    try:
        night = camera.capture(pir(), 0)
        lux["value"] = 1000.0
        day = camera.capture(pir(), 0)
    finally:
        camera.stop()
    assert night.metadata["night"] and abs(night.metadata["exposure_us"] - 20_000) <= 2_000
    assert not day.metadata["night"]
