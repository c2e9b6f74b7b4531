"""What the station does with what its companion board reports: readings, tamper, the watchdog's kick."""

from __future__ import annotations

import logging
import shutil
import time
from typing import TYPE_CHECKING

from station.daemon.clock import ClockGuard, save_trusted_unix
from station.hardware.board import CompanionBoard
from station.wire.lora_codec import ResetCause, StatusFrame

if TYPE_CHECKING:
    from station.daemon.app import StationApp

log = logging.getLogger(__name__)


def _kick_watchdog(self, companion: CompanionBoard) -> None:
    if self.healthy():
        if companion.kick_watchdog():
            self.stats.add("watchdog_kicks")
    else:
        log.error("pipeline unhealthy: not kicking the hardware watchdog (the board will power-cycle the Pi)")
        self.stats.add("watchdog_withheld")


def _board_reading(self, reading: dict, clock: ClockGuard) -> None:
    """From the bridge's reader thread: remember, store, and check the clock against the board's RTC."""
    self.board = reading
    writer = self.parts.writer
    running = writer.alive()  # readings before the writer runs: the latest is stored when it starts
    if running:
        writer.submit(lambda store: store.add_board_telemetry(reading))
    check = clock.check(reading["rtc_unix"], received_unix=reading["received_unix"])
    if check is not None:
        self.stats.add(check.counter)
    if running:
        if check is not None:
            writer.submit(lambda store: store.log(check.kind, check.detail))
        trusted = clock.take_time_to_save()
        if trusted is not None:
            writer.submit(lambda store: save_trusted_unix(store, trusted))


def _tamper(self, detail: str) -> None:
    log.warning("tamper: %s", detail)
    self.stats.add("tamper_events")
    writer = self.parts.writer
    if writer.alive():
        writer.submit(lambda store: store.log("tamper", detail))


def _lora_status(self, sequence: int) -> StatusFrame:
    usage = shutil.disk_usage(self.config.data_dir)
    return StatusFrame.measured(sequence=sequence, time=int(time.time()),
                                battery_mv=self.board.get("battery_mv", 0),
                                storage_used_pct=100 * (usage.total - usage.free) / usage.total,
                                temperature_c=self.board.get("temperature_c"),
                                queue_depth=self.frames.qsize(),
                                reset_cause=self.board.get("reset_cause", ResetCause.UNKNOWN))
