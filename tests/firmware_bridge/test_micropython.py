"""The reference firmware under the real MicroPython (Unix port), compiled with mpy-cross, talking to
the host's real Bridge — and the whole station — over a pty."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator

import pytest

from firmware_bridge import protocol as p
from firmware_bridge.bridge import Bridge
from firmware_bridge.errors import CommandRejectedError
from firmware_bridge.fields import Capability, ResetCause, TamperKind
from firmware_bridge.firmware import main as board_main
from firmware_bridge.firmware import node
from firmware_bridge.micropython_board import (
    FIRMWARE_SOURCES,
    MACHINE_STAND_IN,
    MicroPythonBoard,
    MicroPythonError,
    compile_firmware,
    find_tool,
)
from firmware_bridge.sim_parts import Environment

from .conftest import WAIT_S, Recorder

try:
    find_tool("micropython")
    find_tool("mpy-cross")
except MicroPythonError as missing:
    pytest.skip(f"MicroPython tools unavailable on this platform: {missing}", allow_module_level=True)

SURROUNDINGS = Environment(battery_mv=12_345, solar_mv=18_000, lux=120, temperature_c=-7.5)


@pytest.fixture(scope="module")
def upy_board() -> Iterator[MicroPythonBoard]:
    with MicroPythonBoard(board_id=b"PICO0042", environment=SURROUNDINGS) as board:
        yield board


@pytest.fixture
def bridge(upy_board: MicroPythonBoard, events: Recorder) -> Iterator[Bridge]:
    with Bridge(upy_board.port, on_pir=events, on_telemetry=events, on_tamper=events, on_hello=events,
                handshake_timeout=WAIT_S) as started:
        yield started


@pytest.mark.parametrize("source", FIRMWARE_SOURCES + (MACHINE_STAND_IN,), ids=lambda path: path.name)
def test_every_firmware_file_compiles_with_mpy_cross(source, tmp_path) -> None:
    (compiled,) = compile_firmware(tmp_path, (source,))
    assert compiled.read_bytes()[:1] == b"M"  # the .mpy header's magic byte


def test_handshake_under_micropython_reports_the_board(bridge: Bridge, events: Recorder) -> None:
    board = bridge.board
    assert board is not None and board.reply
    assert board.board_id == b"PICO0042" and board.firmware_version == node.FIRMWARE_VERSION
    assert {Capability.PIR, Capability.IR_LAMP, Capability.WATCHDOG, Capability.TAMPER} <= set(
        Capability(bit) for bit in Capability if bit in board.capabilities)
    assert Capability.LORA not in board.capabilities  # the reference wiring has no radio
    (telemetry,) = events.wait_for(p.Telemetry)
    assert abs(telemetry.battery_mv - 12_345) <= 1 and abs(telemetry.solar_mv - 18_000) <= 1
    assert abs(telemetry.lux - 120) <= 1 and abs(telemetry.temperature_cc - (-750)) <= 5
    assert telemetry.reset_cause == ResetCause.POWER_ON


def test_pir_edges_on_both_inputs_become_acknowledged_events(upy_board: MicroPythonBoard, bridge: Bridge,
                                                             events: Recorder) -> None:
    upy_board.fire_pir(0)
    upy_board.fire_pir(1)
    sensors = sorted(pir.sensor for pir in events.wait_for(p.Pir, 2))
    assert sensors == [0, 1]
    assert bridge.stats().duplicates == 0


def test_lid_switch_is_a_tamper_event(upy_board: MicroPythonBoard, bridge: Bridge, events: Recorder) -> None:
    upy_board.drive_pin(board_main.ENCLOSURE_PIN, 1)
    (tamper,) = events.wait_for(p.Tamper, where=lambda t: t.kind == TamperKind.ENCLOSURE_OPEN)
    assert tamper.detail == 1
    upy_board.drive_pin(board_main.ENCLOSURE_PIN, 0)
    events.wait_for(p.Tamper, where=lambda t: t.kind == TamperKind.ENCLOSURE_OPEN and t.detail == 0)


def test_commands_are_carried_out_on_the_pins(upy_board: MicroPythonBoard, bridge: Bridge) -> None:
    bridge.send_command(p.IrLamp(180))
    upy_board.wait_for_report(lambda line: line == f"pwm {board_main.IR_LAMP_PIN} {180 * 257}",
                              what="the lamp's PWM duty")
    bridge.send_command(p.WatchdogConfig(120))
    bridge.send_command(p.WatchdogKick())
    with pytest.raises(CommandRejectedError, match="out_of_range"):
        bridge.send_command(p.WatchdogConfig(3))


def test_sleep_needs_the_time_first(bridge: Bridge) -> None:
    with pytest.raises(CommandRejectedError, match="not_ready"):
        bridge.send_command(p.SleepUntil(1_700_003_600))
    bridge.send_command(p.SetTime(1_700_000_000))
    bridge.send_command(p.SleepUntil(1_700_003_600))


def test_garbage_on_the_line_is_skipped(upy_board: MicroPythonBoard, bridge: Bridge, events: Recorder) -> None:
    line = os.open(upy_board.port, os.O_WRONLY | os.O_NOCTTY)
    try:
        os.write(line, bytes(range(1, 255)) * 3 + b"\x00\x07\x01\x02\x00")  # noise and a frame with a bad CRC
    finally:
        os.close(line)
    bridge.send_command(p.IrLamp(0))
    upy_board.fire_pir(1)
    events.wait_for(p.Pir)


def test_station_captures_from_a_micropython_board(tmp_path) -> None:
    from station.wire import ids
    from tests.conftest import make_config, running_station, wait_until

    with MicroPythonBoard(environment=SURROUNDINGS) as board:
        config = make_config(tmp_path / "data", hardware={"trigger": "bridge", "illuminator": "bridge"},
                             bridge={"port": board.port, "kick_interval_s": 1.0},
                             capture={"warmup_s": 0})  # a real board: no PIR settling time in a test
        try:
            with running_station(config) as app:
                board.fire_pir(0)
                wait_until(lambda: app.stats.get("sequences_opened") >= 1, message="the PIR's sequence")
                assert app.wait_idle(30)
                assert abs(app.board.get("battery_mv", 0) - 12_345) <= 1  # the board's telemetry reached it
                # the station keeps the board's watchdog fed
                wait_until(lambda: app.stats.get("watchdog_kicks") >= 1, timeout=5, message="a watchdog kick")
        finally:
            ids.set_clock_offset(0.0)
    with sqlite3.connect(app.db_path) as conn:
        (pir_events,) = conn.execute("SELECT count(*) FROM events WHERE trigger_source = 'pir'").fetchone()
        (frames,) = conn.execute("SELECT count(*) FROM media").fetchone()
        (boot_readings,) = conn.execute("SELECT count(*) FROM board_telemetry WHERE battery_mv BETWEEN 12344 AND "
                                        "12346 AND reset_cause IS NOT NULL").fetchone()
    assert pir_events == 1 and frames == 2  # one burst of make_config's 2 frames
    assert boot_readings == 1  # the reading sent right after the handshake is kept, with the board's reset cause

