"""The station's clock against the companion board's real-time clock.

A Pi has no RTC: after a power cut with no network it boots with a wrong time. The board's RTC keeps time.
When the system clock is not synchronised (no NTP) and differs from the RTC, the station sets its time
offset from the RTC, so new records carry real times, and records the jump; when NTP is in charge, a
difference is only recorded.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import time

from station import ids

log = logging.getLogger(__name__)

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


def check_clock(rtc_unix: int, *, received_unix: float, tolerance_s: float,
                synchronised: bool | None = None) -> str | None:
    """Compare the RTC reading with the system time it arrived at; return a log line if they disagree."""
    difference = rtc_unix - received_unix - ids.clock_offset()
    if abs(difference) <= tolerance_s or rtc_unix <= 0:
        return None
    synced = system_clock_synchronised() if synchronised is None else synchronised
    if synced:
        detail = f"board RTC differs from the NTP-synchronised system clock by {difference:+.1f} s (RTC not used)"
    else:
        ids.set_clock_offset(ids.clock_offset() + difference)
        detail = (f"system clock not synchronised: station time set from the board RTC "
                  f"({difference:+.1f} s); times before this may be wrong")
    log.warning(detail)
    return detail


def now_unix() -> float:
    return time.time() + ids.clock_offset()
