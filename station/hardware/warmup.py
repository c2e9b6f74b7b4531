"""No false triggers while the sensors settle after power-up.

A PIR module fires at random for its first half-minute or so while its pyroelectric element settles, and
the camera's exposure and white balance need a few frames after it starts. ``WarmupGate`` wraps any trigger
source (GPIO PIR, companion-board PIR) and drops what it delivers during the first ``warmup_s`` seconds
after ``start()``, counting each dropped trigger instead of photographing an empty forest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from station.hardware.ports import TriggerCallback, TriggerSource
from station.types import Trigger

log = logging.getLogger(__name__)


class WarmupGate:
    """A ``TriggerSource`` that passes on ``inner``'s triggers once ``warmup_s`` seconds have passed since
    ``start()``. ``on_ignored`` is told about each trigger dropped (for the station's counters)."""

    def __init__(self, inner: TriggerSource, *, warmup_s: float, on_ignored: Callable[[Trigger], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.inner = inner
        self._warmup_s = warmup_s
        self._on_ignored = on_ignored
        self._clock = clock
        self._lock = threading.Lock()
        self._open_at: float | None = None
        self._announced = False
        self.ignored = 0

    def start(self, on_trigger: TriggerCallback) -> None:
        with self._lock:
            self._open_at = self._clock() + self._warmup_s
            self._announced = self._warmup_s <= 0
        if self._warmup_s > 0:
            log.info("triggers ignored for %g s while the PIR and camera warm up", self._warmup_s)
        self.inner.start(lambda trigger: self._deliver(trigger, on_trigger))

    def stop(self) -> None:
        self.inner.stop()

    @property
    def warming_up(self) -> bool:
        with self._lock:
            return self._open_at is None or self._clock() < self._open_at

    def _deliver(self, trigger: Trigger, on_trigger: TriggerCallback) -> None:
        """On the sensor's thread: pass the trigger on, or count it while warming up (never blocks)."""
        with self._lock:
            warming = self._open_at is None or self._clock() < self._open_at  # None: start() not yet run
            if warming:
                self.ignored += 1
            announce = not warming and not self._announced
            self._announced = self._announced or announce
        if warming:
            log.debug("trigger from %s %d ignored: warming up", trigger.source, trigger.sensor)
            if self._on_ignored is not None:
                self._on_ignored(trigger)
            return
        if announce:
            log.info("warm-up over: %d trigger(s) were ignored", self.ignored)
        on_trigger(trigger)
