"""Timers: a time-lapse trigger (a burst every N seconds) and a generic ticker (telemetry)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from station.hardware.ports import TriggerCallback
from station.types import Trigger
from station.wire.ids import utc_now

log = logging.getLogger(__name__)


class Ticker:
    """Calls ``action`` every ``interval_s`` seconds on its own thread; sleeps in the kernel in between."""

    def __init__(self, interval_s: float, action: Callable[[], None]) -> None:
        self._interval = interval_s
        self._action = action
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ticker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._action()
            except Exception:  # a failed tick is logged; the next one still comes
                log.exception("periodic action failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


class TimelapseTrigger:
    """A trigger source that fires every ``interval_s`` (Camtrap DP captureMethod timeLapse)."""

    def __init__(self, *, interval_s: float) -> None:
        self._interval = interval_s
        self._ticker: Ticker | None = None

    def start(self, on_trigger: TriggerCallback) -> None:
        self._ticker = Ticker(self._interval, lambda: on_trigger(Trigger(source="schedule", at=utc_now())))
        self._ticker.start()

    def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.stop()
