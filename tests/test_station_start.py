"""A start that fails part-way: the error says why, nothing is left running, and what had started stopped in
the reverse order; the same config starts afterwards (the database, the board's and the modem's ports, the
MQTT session and the run-state file were all given back)."""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

import pytest
from PIL import Image

from station.daemon.app import StationApp
from station.daemon.runstate import RUN_STATE, read_run_state
from station.devtools.mosquitto import PrivateBroker
from station.errors import HardwareError
from station.hardware.scenes import Scene, render
from tests.conftest import make_config, running_station, wait_until

APP_LOG = "station.daemon.app"
# Every part this config has, in the order start() starts them; the replay camera is the seventh.
ALL_PARTS = ["board", "lora", "mqtt", "writer", "commands", "classify", "camera", "capture", "triggers",
             "timelapse", "telemetry", "watchdog", "web"]


def stop_order(started: list[str]) -> list[str]:
    """The reverse of the start order, with the lamp (claimed when built, never "started") switched off and
    released right after the camera stops, before the classifier: the order stop() always had."""
    order = started[::-1]
    return order[:order.index("camera") + 1] + ["lamp"] + order[order.index("camera") + 1:]


def station_on_an_sd_card(tmp_path: Path, broker: PrivateBroker, photos: Path):
    """A station with a board, MQTT and LoRa whose camera replays the photos of an SD card."""
    return make_config(
        tmp_path / "data", broker=broker,
        hardware={"camera": "replay", "trigger": "bridge", "illuminator": "bridge"},
        camera={"replay_dir": str(photos)},
        bridge={"port": "simulated", "kick_interval_s": 1.0, "simulated_telemetry_s": 3600},
        lora={"enabled": True, "modem": "simulated", "region": "RU864", "status_interval_s": 3600})


def parts_logged(caplog: pytest.LogCaptureFixture, verb: str) -> list[str]:
    """The parts named by the app's "starting …" or "stopping …" debug lines, in the order logged."""
    pattern = re.compile(rf"{verb} (.+)")
    matches = (pattern.fullmatch(r.getMessage()) for r in caplog.records if r.name == APP_LOG)
    return [m.group(1) for m in matches if m is not None]


def open_files() -> set[str]:
    """What this process has open: files and ptys by path, TCP sockets as "tcp to <peer port>"."""
    peers = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            peers[f"socket:[{fields[9]}]"] = f"tcp to {int(fields[2].rsplit(':', 1)[1], 16)}"
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the descriptor listdir itself used, already closed
            continue
        found.add(peers.get(target, target))
    return found


def test_a_camera_that_cannot_start_stops_every_started_part_in_reverse(tmp_path, broker, caplog):
    photos = tmp_path / "sdcard"
    photos.mkdir()  # the card is empty: the replay camera, the seventh part, cannot start
    config = station_on_an_sd_card(tmp_path, broker, photos)
    caplog.set_level(logging.DEBUG, logger=APP_LOG)
    threads_before, hook_before, files_before = set(threading.enumerate()), threading.excepthook, open_files()

    app = StationApp(config)
    with pytest.raises(HardwareError, match=f"^replay camera: no .jpg files under {re.escape(str(photos))}$"):
        app.start()

    started = parts_logged(caplog, "starting")
    assert started == ALL_PARTS[:ALL_PARTS.index("camera") + 1]
    assert parts_logged(caplog, "stopping") == stop_order(started)
    assert caplog.records[-1].getMessage() == "station test-station stopped"
    assert [t.name for t in threading.enumerate() if t not in threads_before] == []
    assert threading.excepthook is hook_before  # the station's supervision of threads is undone too
    left_open = open_files() - files_before
    assert {name for name in left_open if not name.startswith(("socket:", "tcp to "))} == set()  # db, ptys
    assert f"tcp to {broker.port}" not in left_open  # the MQTT session is closed (paho's wake-up pair of
    #                                                  loopback sockets lives as long as its client object)
    assert not (config.data_dir / RUN_STATE).exists()
    assert read_run_state(config.data_dir) == {"running": False}

    Image.fromarray(render(Scene("amur_leopard", seed=5000), (320, 240))).save(photos / "IMG_0001.JPG")
    caplog.clear()
    with running_station(config) as again:
        assert read_run_state(config.data_dir)["running"] is True
        assert wait_until(lambda: again.snapshot().mqtt_connected, message="MQTT connected again")
        board = again.parts.companion
        assert board is not None and board.simulator is not None
        board.simulator.fire_pir(1)
        assert wait_until(lambda: again.stats.get("sequences_opened") == 1, message="a burst from the board's PIR")
        assert again.wait_idle(30)
    assert parts_logged(caplog, "starting") == ALL_PARTS
    assert parts_logged(caplog, "stopping") == stop_order(ALL_PARTS)
    assert not (config.data_dir / RUN_STATE).exists()
