"""Time-ordered message ids (UUIDv7, RFC 9562) and the station's timestamp format.

Python 3.11-3.13 have no ``uuid.uuid7``; this is the RFC's layout with a counter in ``rand_a`` so ids made
within the same millisecond still sort in creation order (method 1 of RFC 9562 §6.2).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime


class _Uuid7Source:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._counter = 0

    def next(self) -> uuid.UUID:
        with self._lock:
            now_ms = time.time_ns() // 1_000_000
            if now_ms > self._last_ms:
                self._last_ms, self._counter = now_ms, int.from_bytes(os.urandom(2), "big") & 0x1FF
            else:  # same millisecond or the clock went back: keep ids monotonic
                self._counter += 1
                if self._counter > 0xFFF:
                    self._last_ms, self._counter = self._last_ms + 1, 0
            unix_ms, counter = self._last_ms, self._counter
        rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (unix_ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
        return uuid.UUID(int=value)


_source: _Uuid7Source | None = None
_source_lock = threading.Lock()


def uuid7() -> str:
    """A new UUIDv7 as a string; ids made by one process sort in creation order."""
    global _source
    if _source is None:
        with _source_lock:
            _source = _source or _Uuid7Source()
    return str(_source.next())


_clock_offset_s = 0.0


def clock_offset() -> float:
    """Seconds added to the system clock (set from the companion board's RTC when there is no NTP)."""
    return _clock_offset_s


def set_clock_offset(seconds: float) -> None:
    global _clock_offset_s
    _clock_offset_s = seconds


def utc_now() -> datetime:
    return datetime.fromtimestamp(time.time() + _clock_offset_s, UTC)


def iso(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds and a Z, the one format used in the store and on the wire."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
