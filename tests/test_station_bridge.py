"""The station on its companion board: PIR through the bridge, telemetry, IR lamp by light, watchdog, RTC."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from firmware_bridge.protocol import SetTime
from station.daemon import board_reports
from station.wire import ids
from tests.conftest import make_config, running_station, wait_until

BOARD = {"hardware": {"trigger": "bridge", "illuminator": "bridge"},
         "bridge": {"port": "simulated", "kick_interval_s": 1.0, "simulated_telemetry_s": 3600}}


def board_config(tmp_path, **extra):
    sections = {**BOARD, **extra}
    return make_config(tmp_path / "data", **sections)


@pytest.fixture(autouse=True)
def restore_clock():
    yield
    ids.set_clock_offset(0.0)


def count(db, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchone()[0]


def test_pir_on_the_board_starts_a_burst_and_telemetry_is_stored(tmp_path):
    with running_station(board_config(tmp_path)) as app:
        simulator = app.parts.companion.simulator
        simulator.fire_pir(1)
        assert wait_until(lambda: app.stats.get("sequences_opened") == 1)
        assert app.wait_idle(30)
        simulator.set_battery(11_900)
        simulator.send_telemetry()
        assert wait_until(lambda: app.board.get("battery_mv") == 11_900)
        assert app.wait_idle(10)
    assert count(app.db_path, "SELECT count(*) FROM events WHERE trigger_source = 'pir'") == 1
    assert count(app.db_path, "SELECT count(*) FROM board_telemetry WHERE battery_mv = 11900") == 1


def test_ir_lamp_is_switched_for_night_bursts_by_the_light_level(tmp_path):
    with running_station(board_config(tmp_path)) as app:
        simulator = app.parts.companion.simulator
        simulator.set_lux(2)
        simulator.send_telemetry()
        assert wait_until(lambda: app.board.get("lux") == 2)
        simulator.fire_pir(0)
        assert wait_until(lambda: simulator.state.ir_lamp_levels == [255, 0])
        simulator.set_lux(400)  # the light sensor saturates near 650 lx
        simulator.send_telemetry()
        assert wait_until(lambda: app.board.get("lux", 0) > 300)
        assert app.wait_idle(30)
        simulator.fire_pir(0)
        assert wait_until(lambda: app.stats.get("bursts") == 2)
        assert app.wait_idle(30)
        assert simulator.state.ir_lamp_levels == [255, 0]  # day burst: lamp untouched


def test_watchdog_is_kicked_only_while_the_pipeline_is_healthy(tmp_path):
    with running_station(board_config(tmp_path)) as app:
        simulator = app.parts.companion.simulator
        assert wait_until(lambda: simulator.state.watchdog_kicks >= 2)
        app.parts.classify.busy_since = time.monotonic() - 3600  # the classifier hangs on one frame
        withheld = app.stats.get("watchdog_withheld")
        assert wait_until(lambda: app.stats.get("watchdog_withheld") > withheld)
        kicks = simulator.state.watchdog_kicks
        # not time but turns: two more kick periods come and go, each one withheld, and not one kick follows
        withheld = app.stats.get("watchdog_withheld")
        wait_until(lambda: app.stats.get("watchdog_withheld") >= withheld + 2, message="two more withheld kicks")
        assert simulator.state.watchdog_kicks == kicks
        app.parts.classify.busy_since = None


def test_board_reset_mid_session_handshakes_again_and_nothing_is_lost(tmp_path):
    with running_station(board_config(tmp_path)) as app:
        simulator = app.parts.companion.simulator
        simulator.fire_pir(0)
        assert wait_until(lambda: app.stats.get("sequences_opened") == 1)
        simulator.reset()
        simulator.fire_pir(0)
        assert wait_until(lambda: app.stats.get("bursts") >= 2)
        assert app.wait_idle(30)
    assert count(app.db_path, "SELECT count(*) FROM media") >= 4


def test_rtc_far_from_an_unsynchronised_system_clock_sets_station_time(tmp_path, monkeypatch):
    monkeypatch.setattr("station.daemon.clock.system_clock_synchronised", lambda: False)
    with running_station(board_config(tmp_path)) as app:
        simulator = app.parts.companion.simulator
        # the board's RTC is two hours ahead of the Pi's (unsynchronised) clock
        app.parts.companion.bridge.send_command(SetTime(unix=int(time.time()) + 7200))
        simulator.send_telemetry()
        assert wait_until(lambda: app.stats.get("clock_jumps") == 1)
        assert 7100 < ids.clock_offset() < 7300
        assert app.wait_idle(10)
    with sqlite3.connect(app.db_path) as conn:
        detail = conn.execute("SELECT detail FROM station_log WHERE kind = 'clock'").fetchone()[0]
    assert "set from the board RTC" in detail


def test_bridge_simulate_and_monitor_commands(tmp_path):
    import signal
    import subprocess
    import sys

    simulate = subprocess.Popen([sys.executable, "-m", "station", "bridge", "simulate", "--telemetry-s", "0.5"],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = simulate.stdout.readline().strip()
        assert port.startswith("/")
        monitor = subprocess.Popen([sys.executable, "-m", "station", "bridge", "monitor", "--port", port],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []

        def read_monitor() -> None:  # readline blocks: a thread reads, the test waits with a deadline
            for line in monitor.stdout:
                lines.append(line)

        threading.Thread(target=read_monitor, daemon=True).start()
        wait_until(lambda: any("telemetry" in line for line in lines), timeout=30,
                   message=lambda: f"a telemetry line from `trapd bridge monitor` (so far: {lines!r})")
        monitor.send_signal(signal.SIGINT)
        monitor.wait(timeout=10)
    finally:
        simulate.send_signal(signal.SIGINT)
        simulate.wait(timeout=10)
    assert any("hello" in line for line in lines) and any("telemetry" in line for line in lines), lines


def test_lora_status_carries_the_boards_reset_cause(tmp_path):
    from firmware_bridge.fields import ResetCause
    from station.wire.lora_codec import decode_uplink, encode_status

    with running_station(board_config(tmp_path)) as app:
        assert wait_until(lambda: app.board.get("reset_cause") == ResetCause.POWER_ON)
        app.parts.companion.simulator.reset()  # the RUN pin: the board reports a hard reset
        assert wait_until(lambda: app.board.get("reset_cause") == ResetCause.HARD)
        # what the LoRa link sends (its timing is tested elsewhere)
        payload = encode_status(board_reports.lora_status(app, 7))
    assert decode_uplink(payload).reset_cause == ResetCause.HARD == 3
