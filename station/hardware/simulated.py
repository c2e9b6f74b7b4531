"""Simulated hardware shipped with the station, selected with ``camera/trigger/illuminator = "simulated"``.

Tests and the demo drive them the way the world would: ``pir.fire(subject="amur_tiger")`` and a tiger is
rendered in front of the simulated camera for the bursts of that trigger.
"""

from __future__ import annotations

import itertools
import random
import threading

from station.hardware.ports import Shot, TriggerCallback
from station.hardware.scenes import SUBJECTS, Scene, render
from station.types import Trigger
from station.wire.ids import utc_now


class SimulatedCamera:
    """Renders synthetic scenes; the subject comes from the trigger (random when it has none)."""

    def __init__(self, *, width: int, height: int, seed: int = 0) -> None:
        self._size = (width, height)
        self._rng = random.Random(seed)
        self._scene_ids = itertools.count(seed * 100_000 + 1)
        self._last: tuple[Trigger, Scene] | None = None
        self.started = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def scene_for(self, trigger: Trigger) -> Scene:
        if self._last is None or self._last[0] is not trigger:
            subject = trigger.subject or self._rng.choice(SUBJECTS)
            night = trigger.night if trigger.night is not None else self._rng.random() < 0.4
            self._last = (trigger, Scene(subject=subject, night=night, seed=next(self._scene_ids)))
        return self._last[1]

    def capture(self, trigger: Trigger, frame_index: int) -> Shot:
        scene = self.scene_for(trigger)
        return Shot(pixels=render(scene, self._size, frame_index),
                    metadata={"simulated_subject": scene.subject, "night": scene.night})


class SimulatedPIR:
    """A PIR sensor fired by code: ``fire()`` delivers a trigger on the caller's thread."""

    def __init__(self) -> None:
        self._on_trigger: TriggerCallback | None = None
        self._lock = threading.Lock()
        self.fired = 0

    def start(self, on_trigger: TriggerCallback) -> None:
        with self._lock:
            self._on_trigger = on_trigger

    def stop(self) -> None:
        with self._lock:
            self._on_trigger = None

    def fire(self, subject: str | None = None, *, night: bool | None = None, sensor: int = 0) -> Trigger:
        """Something warm walked past: deliver a PIR trigger (ignored while stopped, like a real sensor)."""
        trigger = Trigger(source="pir", at=utc_now(), sensor=sensor, subject=subject, night=night)
        with self._lock:
            callback = self._on_trigger
            self.fired += 1
        if callback is not None:
            callback(trigger)
        return trigger


class SimulatedIlluminator:
    """Remembers the lamp level, so tests can check the lamp was switched for night bursts."""

    def __init__(self) -> None:
        self.level = 0.0
        self.history: list[float] = []

    def set_level(self, level: float) -> None:
        self.level = max(0.0, min(1.0, level))
        self.history.append(self.level)


class NoIlluminator:
    """For stations without an IR lamp."""

    def set_level(self, level: float) -> None:
        return None
