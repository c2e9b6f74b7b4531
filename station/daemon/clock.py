"""The station's clock against the companion board's real-time clock.

A Pi has no RTC: after a power cut with no network it boots with a wrong time. The board's RTC keeps time.
When the system clock is not synchronised (no NTP) and differs from the RTC, the station sets its time
offset from the RTC, so new records carry real times, and records the jump; when NTP is in charge, a
difference is only recorded (and an offset taken from the RTC earlier is dropped: NTP has set the clock).

An RTC reading is believed only if it is plausible (``ClockGuard``): never before ``BUILD_UNIX`` (the day
this version was made; an RTC that lost its battery reads 2000 or 1970), never more than ``MAX_AHEAD_S``
past the last time the station trusted (a corrupt or forged reading such as 0xFFFFFFFF is 2106), never
before that time, and, once a time has been trusted in this run (NTP, an accepted reading, or the RTC and
the station agreeing), never more than ``MAX_RUN_DRIFT_S`` away from it as the monotonic clock carried it
forward. A reading of 0 means the board's clock is not set and is ignored. A refused reading leaves the offset
as it was, is logged, written to ``station_log`` (kind ``clock_rejected``) and counted (``clock_rtc_rejected``).
The last trusted time is kept in the ``kv`` table, so a restart without NTP still has it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import logging
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from station.wire import ids

log = logging.getLogger(__name__)

#: 2026-12-01 00:00 UTC: this version of trapd was made then, so no true clock reading is older. A constant in
#: the code (a file's mtime changes with every copy); raise it when a release is made.
BUILD_UNIX = 1_796_083_200
#: How far past the last trusted time a reading may be: a station can be switched off for long, not for this.
MAX_AHEAD_S = 2 * 366 * 86400
#: How far, within one run, a reading may stray from the trusted time carried forward by the monotonic clock.
MAX_RUN_DRIFT_S = 86400.0
#: Without a better reference: readings past this are refused (0xFFFFFFFF is 2106).
LATEST_UNIX = BUILD_UNIX + 20 * 366 * 86400
TRUSTED_KEY = "clock_trusted_unix"
#: Persist the trusted time at most this often (every telemetry reading would be a write too many).
_SAVE_EVERY_S = 3600.0

_STA_UNSYNC = 0x0040
_TIMEX_SIZE = 208  # struct timex on 64-bit Linux; 32-bit is smaller, and over-allocating is harmless


def system_clock_synchronised() -> bool | None:
    """True when the kernel says NTP keeps the clock in sync; None when it cannot be told."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        buffer = ctypes.create_string_buffer(_TIMEX_SIZE)  # modes = 0: read only
        state = libc.adjtimex(buffer)
        long_size = ctypes.sizeof(ctypes.c_long)
        at = max(4, long_size) + 4 * long_size  # modes, then offset, freq, maxerror, esterror (longs)
        status = int.from_bytes(buffer.raw[at:at + 4], "little", signed=True) if state >= 0 else None
    except (OSError, AttributeError):
        return None
    if status is None:
        return None
    return state != 5 and not status & _STA_UNSYNC  # 5 = TIME_ERROR


@dataclasses.dataclass(frozen=True)
class ClockCheck:
    """What a disagreeing RTC reading led to: ``kind`` is the station_log kind, ``counter`` the stats counter."""

    kind: str
    counter: str
    detail: str


class ClockGuard:
    """Checks each RTC reading against the station's time and what it last trusted (see the module's text)."""

    def __init__(self, *, tolerance_s: float, trusted_unix: float | None = None,
                 synchronised: Callable[[], bool | None] | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._tolerance_s = tolerance_s
        self._synchronised = synchronised  # None: ask the kernel each time
        self._monotonic = monotonic
        self._saved_unix = trusted_unix  # from an earlier run: a floor, not carried forward
        self._trusted: tuple[float, float] | None = None  # (unix, monotonic) trusted in this run
        self._last_save = -_SAVE_EVERY_S

    def check(self, rtc_unix: int, *, received_unix: float) -> ClockCheck | None:
        """Compare one reading with the station time it arrived at (``received_unix`` is the system time)."""
        synced = (self._synchronised or system_clock_synchronised)()
        if synced and ids.clock_offset() != 0.0:  # NTP has set the system clock since the RTC was used
            detail = f"NTP in charge again: the station time offset of {ids.clock_offset():+.1f} s from the RTC dropped"
            ids.set_clock_offset(0.0)
            self._trust(received_unix)
            log.warning(detail)
            return ClockCheck("clock", "clock_jumps", detail)
        station_unix = received_unix + ids.clock_offset()
        difference = rtc_unix - station_unix
        if synced:
            self._trust(station_unix)
        if rtc_unix == 0:
            return None  # the board's clock has not been set since it powered up
        refusal = self._implausible(rtc_unix)
        if refusal is not None:
            detail = f"board RTC reading {rtc_unix} ({_iso(rtc_unix)}) refused: {refusal}; station time unchanged"
            log.warning(detail)
            return ClockCheck("clock_rejected", "clock_rtc_rejected", detail)
        if abs(difference) <= self._tolerance_s:
            if self._trusted is None:
                self._trust(station_unix)  # two independent clocks agree on a plausible time
            return None
        if synced:
            detail = f"board RTC differs from the NTP-synchronised system clock by {difference:+.1f} s (RTC not used)"
            log.warning(detail)
            return ClockCheck("clock", "clock_jumps", detail)
        ids.set_clock_offset(ids.clock_offset() + difference)
        self._trust(rtc_unix)
        detail = (f"system clock not synchronised: station time set from the board RTC "
                  f"({difference:+.1f} s); times before this may be wrong")
        log.warning(detail)
        return ClockCheck("clock", "clock_jumps", detail)

    def trusted_unix(self) -> float | None:
        """The last trusted time carried forward to now (this run), or the one saved by an earlier run."""
        if self._trusted is not None:
            unix, at = self._trusted
            return unix + self._monotonic() - at
        return self._saved_unix

    def take_time_to_save(self) -> float | None:
        """The trusted time to persist, at most once per ``_SAVE_EVERY_S`` (None: nothing to save now)."""
        if self._trusted is None or self._monotonic() - self._last_save < _SAVE_EVERY_S:
            return None
        self._last_save = self._monotonic()
        return self.trusted_unix()

    def _implausible(self, rtc_unix: int) -> str | None:
        if rtc_unix < BUILD_UNIX:
            return f"before this software was made ({_iso(BUILD_UNIX)}): the RTC has lost its time"
        if self._trusted is not None:
            expected = self.trusted_unix() or 0.0
            if abs(rtc_unix - expected) > MAX_RUN_DRIFT_S:
                return f"{rtc_unix - expected:+.0f} s from the time trusted in this run ({_iso(expected)})"
            return None
        floor = self._saved_unix
        if floor is not None and rtc_unix < floor - self._tolerance_s:
            return f"before the last trusted time ({_iso(floor)})"
        if rtc_unix > (floor + MAX_AHEAD_S if floor is not None else LATEST_UNIX):
            return f"implausibly far ahead of the last trusted time ({_iso(floor or BUILD_UNIX)})"
        return None

    def _trust(self, unix: float) -> None:
        self._trusted = (unix, self._monotonic())


def check_clock(rtc_unix: int, *, received_unix: float, tolerance_s: float,
                synchronised: bool | None = None) -> str | None:
    """One reading checked on its own (no trusted time): the log line if it moved or disagreed, else None."""
    guard = ClockGuard(tolerance_s=tolerance_s, synchronised=None if synchronised is None else lambda: synchronised)
    result = guard.check(rtc_unix, received_unix=received_unix)
    return result.detail if result is not None else None


def load_trusted_unix(db_path: Path) -> float | None:
    """The trusted time an earlier run saved in the station database (None if none or no database yet)."""
    if not db_path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM kv WHERE key = ?", [TRUSTED_KEY]).fetchone()
        finally:
            conn.close()
        return float(row[0]) if row else None
    except (sqlite3.Error, ValueError):
        return None


def save_trusted_unix(store, unix: float) -> None:  # noqa: ANN001 - a StationStore, on the writer's thread
    from station.store.db import write_transaction

    with write_transaction(store.db):
        store.db.conn.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", [TRUSTED_KEY, f"{unix:.0f}"])


def _iso(unix: float) -> str:
    try:
        return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return "out of range"


def now_unix() -> float:
    return time.time() + ids.clock_offset()
