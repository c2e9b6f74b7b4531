"""Library side of ``trapd bridge simulate`` and ``trapd bridge monitor``; the CLI only prints.

    sim = start_simulator()            # trapd bridge simulate: print sim.port, wait, sim.stop()
    for line in monitor("/dev/ttyAMA0"):   # trapd bridge monitor --port ...
        print(line)
"""

from __future__ import annotations

import dataclasses
import enum
import queue
import threading
from collections.abc import Generator
from datetime import datetime

import serial

from firmware_bridge.bridge import Bridge
from firmware_bridge.errors import BridgeConnectionError
from firmware_bridge.parser import FrameParser, ParseError
from firmware_bridge.protocol import SerialFrame
from firmware_bridge.simulator import Simulator

_POLL_S = 0.25  # how often a monitor looks at its stop event while the line is quiet


def start_simulator(
    *,
    telemetry_period_s: float = 60.0,
    pir_interval_s: float | None = None,
    board_id: bytes = b"SIMBOARD",
) -> Simulator:
    """Start a simulated board on a pty and return it; its ``port`` is the path to give the host.

    ``pir_interval_s`` makes sensor 0 fire on its own that often (for demos). Call ``stop()`` on
    the returned simulator when done.
    """
    simulator = Simulator(telemetry_period_s=telemetry_period_s, pir_interval_s=pir_interval_s, board_id=board_id)
    simulator.start()
    return simulator


def monitor(
    port: str,
    *,
    baudrate: int = 115200,
    passive: bool = False,
    stop: threading.Event | None = None,
) -> Generator[str, None, None]:
    """Yield one human-readable line per frame (or bad frame) on ``port`` until ``stop`` is set or
    the generator is closed.

    By default the monitor is the board's host: it handshakes and acknowledges events, so a board on
    a technician's USB-UART adapter talks as it would to the station. ``passive`` only listens
    (for a tap on a line that another host drives): it never writes.
    Raises BridgeConnectionError, HandshakeTimeoutError or ProtocolVersionError on the first
    ``next()`` if the board cannot be reached.
    """
    stop = stop or threading.Event()
    if passive:
        yield from _listen(port, baudrate, stop)
    else:
        yield from _converse(port, baudrate, stop)


def format_traffic(direction: str, item: SerialFrame | ParseError, at: datetime | None = None) -> str:
    """``12:00:01.123 rx pir seq=7 sensor=1 mcu_ms=123456``, or ``... rx BAD crc: ...``."""
    stamp = (at or datetime.now()).strftime("%H:%M:%S.%f")[:-3]
    if isinstance(item, ParseError):
        return f"{stamp} {direction} BAD {item.detail}"
    message = item.message
    fields = " ".join(f"{field.name}={_show(getattr(message, field.name))}" for field in dataclasses.fields(message))
    return f"{stamp} {direction} {message.NAME} seq={item.seq} {fields}".rstrip()


def _show(value: object) -> str:
    if isinstance(value, bytes):
        return value.hex() or "''"
    if isinstance(value, enum.Flag):
        return "|".join(member.name or "" for member in type(value) if member in value) or "0"
    if isinstance(value, enum.Enum):
        return value.name.lower()
    return str(value)


def _converse(port: str, baudrate: int, stop: threading.Event) -> Generator[str, None, None]:
    lines: queue.SimpleQueue[str] = queue.SimpleQueue()
    def show(direction: str, item: SerialFrame | ParseError) -> None:
        lines.put(format_traffic(direction, item))

    bridge = Bridge(port, baudrate=baudrate, on_traffic=show)
    bridge.start()
    try:
        while not stop.is_set():
            try:
                yield lines.get(timeout=_POLL_S)
            except queue.Empty:
                continue
    finally:
        bridge.stop()


def _listen(port: str, baudrate: int, stop: threading.Event) -> Generator[str, None, None]:
    try:
        line = serial.serial_for_url(port, baudrate=baudrate, timeout=_POLL_S)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise BridgeConnectionError(f"cannot open serial port {port!r} to listen: {exc}") from exc
    parser = FrameParser()
    try:
        while not stop.is_set():
            data = line.read(max(1, line.in_waiting))
            for item in parser.feed(data):
                yield format_traffic("rx", item)
    finally:
        line.close()
