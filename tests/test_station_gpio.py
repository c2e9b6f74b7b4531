"""The whole station on Pi hardware adapters: the picamera2 adapter over the stand-in picamera2, the PIR
and IR lamp on gpiozero's mock pins. A pin going high must end as a stored sequence."""

from __future__ import annotations

import io
import sqlite3
import sys

import gpiozero
import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin
from PIL import Image

from station.errors import HardwareError
from station.hardware.exif import read_facts
from tests.conftest import make_config, running_station
from tests.fakes.picamera2_standin import CameraWorld

PI = {"hardware": {"camera": "picamera2", "trigger": "gpio", "illuminator": "gpio"},
      "gpio": {"pir_pin": 17, "lamp_pin": 18},
      # the toy pipeline model on a (stand-in) real camera: refused unless allowed explicitly
      "model": {"allow_non_field": True}}


@pytest.fixture
def pins(monkeypatch) -> MockFactory:
    """gpiozero's default pin factory becomes mock pins, as GPIOZERO_PIN_FACTORY=mock would make it."""
    factory = MockFactory(pin_class=MockPWMPin)
    monkeypatch.setattr(gpiozero.Device, "pin_factory", factory)
    yield factory
    factory.reset()


@pytest.fixture
def world(monkeypatch) -> CameraWorld:
    """The stand-in answers `import picamera2` inside the adapter, as the OS package does on a Pi."""
    made = CameraWorld()
    monkeypatch.setitem(sys.modules, "picamera2", made)
    yield made
    made.release_hangs()


def pi_config(tmp_path, **capture):
    return make_config(tmp_path / "data", **PI, capture={"warmup_s": 0.0, **capture},
                       camera={"width": 640, "height": 480, "capture_timeout_s": 0.5, "max_restarts": 1})


def rows(db, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_pin_high_becomes_a_stored_sequence_with_exif(tmp_path, pins, world):
    with running_station(pi_config(tmp_path)) as app:
        pins.pin(17).drive_high()
        assert app.wait_idle(30) and app.stats.get("sequences_closed") == 1
    [(event_id, source)] = rows(app.db_path, "SELECT event_id, trigger_source FROM events")
    media = rows(app.db_path, "SELECT file_path, width, height, frame_index FROM media ORDER BY frame_index")
    assert source == "pir" and len(media) == 2  # conftest: 2 frames per burst
    assert all((width, height) == (640, 480) for _, width, height, _ in media), "the stored size, not lores"
    jpeg = (app.media.root / media[0][0]).read_bytes()
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.size == (640, 480)
    facts = read_facts(jpeg)
    assert (facts["station_id"], facts["deployment_id"], facts["trigger"], facts["sensor"]) == \
        ("test-station", "dep-1", "pir", 17)
    camera = world.cameras[0]
    assert len(world.cameras) == 1 and camera.configure_calls == 1 and camera.closed  # stopped with the app
    lores = camera.config["lores"]["size"]
    assert lores == app.parts.vision.input_size, "the model's input comes from the lores stream"


def test_at_night_the_gpio_lamp_lights_each_frame(tmp_path, pins, world):
    world.ambient_lux = 1.0
    with running_station(pi_config(tmp_path)) as app:
        world.lamp = app.parts.illuminator  # the stand-in's scene is lit by the station's own lamp
        pins.pin(17).drive_high()
        assert app.wait_idle(30)
    lamp = [state.state for state in pins.pin(18).states][1:]
    assert lamp[:4] == [1.0, 0.0, 1.0, 0.0] and pins.pin(18).state == 0
    assert all(frame["lamp"] == 1.0 for frame in world.frames if frame["ExposureTime"] == 20_000
               and frame["flushed"]), "night frames exposed under the lamp"


def test_triggers_while_warming_up_are_counted_not_photographed(tmp_path, pins, world):
    with running_station(pi_config(tmp_path, warmup_s=600.0)) as app:
        for _ in range(3):
            pins.pin(17).drive_high()
            pins.pin(17).drive_low()
        assert app.wait_idle(10)
        assert app.stats.get("triggers_warmup_ignored") == 3 and app.stats.get("sequences_opened") == 0


def test_a_camera_that_keeps_hanging_stops_the_station_with_an_error(tmp_path, pins, world):
    with running_station(pi_config(tmp_path)) as app:
        world.hang(100)
        pins.pin(17).drive_high()
        assert app.fatal_event.wait(30), "the daemon is told"
        assert isinstance(app.fatal, HardwareError) and "systemd" in str(app.fatal)
        assert not app.healthy() and app.stats.get("hardware_failures") == 1
