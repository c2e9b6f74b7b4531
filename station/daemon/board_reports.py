"""What the station does with what its companion board reports: readings (and the clock check), tamper,
the watchdog's kick while healthy, and the LoRa status frame built from the latest reading."""

from __future__ import annotations

import logging
import shutil
import time

from firmware_bridge.fields import ResetCause
from station.daemon.clock import ClockGuard, save_trusted_unix
from station.daemon.host import StationHost
from station.hardware.board import CompanionBoard
from station.wire.lora_codec import StatusFrame

log = logging.getLogger(__name__)


def kick_watchdog(app: StationHost, companion: CompanionBoard) -> None:
    """From the watchdog ticker: kick the board's hardware watchdog while the pipeline is healthy."""
    if app.healthy():
        if companion.kick_watchdog():
            app.stats.add("watchdog_kicks")
    else:
        log.error("pipeline unhealthy: not kicking the hardware watchdog (the board will power-cycle the Pi)")
        app.stats.add("watchdog_withheld")


def on_reading(app: StationHost, reading: dict, clock: ClockGuard) -> None:
    """From the bridge's reader thread: remember, store, and check the clock against the board's RTC."""
    app.board = reading
    writer = app.parts.writer
    running = writer.alive()  # readings before the writer runs: the latest is stored when it starts
    if running:
        writer.submit(lambda store: store.add_board_telemetry(reading))
    check = clock.check(reading["rtc_unix"], received_unix=reading["received_unix"])
    if check is not None:
        app.stats.add(check.counter)
    if running:
        if check is not None:
            writer.submit(lambda store: store.log(check.kind, check.detail))
        trusted = clock.take_time_to_save()
        if trusted is not None:
            writer.submit(lambda store: save_trusted_unix(store, trusted))


def on_tamper(app: StationHost, detail: str) -> None:
    """From the bridge's reader thread: the lid was opened or the board was moved."""
    log.warning("tamper: %s", detail)
    app.stats.add("tamper_events")
    writer = app.parts.writer
    if writer.alive():
        writer.submit(lambda store: store.log("tamper", detail))


def lora_status(app: StationHost, sequence: int) -> StatusFrame:
    """The LoRa link's status frame: the board's latest reading, the disk and the frame queue."""
    usage = shutil.disk_usage(app.config.data_dir)
    return StatusFrame.measured(sequence=sequence, time=int(time.time()),
                                battery_mv=app.board.get("battery_mv", 0),
                                storage_used_pct=100 * (usage.total - usage.free) / usage.total,
                                temperature_c=app.board.get("temperature_c"),
                                queue_depth=app.frames.qsize(),
                                reset_cause=app.board.get("reset_cause", ResetCause.UNKNOWN))
