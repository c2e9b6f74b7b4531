"""A time-lapse trigger: a burst every N seconds, beside whatever sensor the station has."""

from __future__ import annotations

import threading

from station.hardware.ports import TriggerCallback
from station.ids import utc_now
from station.types import Trigger


class TimelapseTrigger:
    def __init__(self, *, interval_s: float) -> None:
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, on_trigger: TriggerCallback) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(on_trigger,), name="timelapse", daemon=True)
        self._thread.start()

    def _run(self, on_trigger: TriggerCallback) -> None:
        while not self._stop.wait(self._interval):  # sleeps in the kernel between shots: no polling
            on_trigger(Trigger(source="schedule", at=utc_now()))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
