"""Fixtures for the bridge tests: a simulated board on a pty and a started Bridge talking to it.

Waiting is always on a condition with a generous timeout (never a bare sleep), so the tests hold on
a loaded two-core CI machine.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from firmware_bridge.bridge import Bridge
from firmware_bridge.protocol import Message
from firmware_bridge.simulator import Simulator

WAIT_S = 10.0
M = TypeVar("M", bound=Message)


class Recorder:
    """A callback that keeps every message it gets; ``wait_for`` blocks until enough arrived."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.messages: list[Message] = []

    def __call__(self, message: Message) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def of(self, cls: type[M]) -> list[M]:
        with self._changed:
            return [message for message in self.messages if isinstance(message, cls)]

    def wait_for(self, cls: type[M], count: int = 1, *, where: Callable[[M], bool] = lambda _: True,
                 timeout: float = WAIT_S) -> list[M]:
        def matching() -> list[M]:
            return [message for message in self.messages if isinstance(message, cls) and where(message)]

        with self._changed:
            if not self._changed.wait_for(lambda: len(matching()) >= count, timeout):
                raise AssertionError(f"wanted {count} {cls.__name__} within {timeout} s, got {matching()}")
            return matching()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(telemetry_period_s=3600) as simulator:
        yield simulator


@pytest.fixture
def events() -> Recorder:
    return Recorder()


@pytest.fixture
def bridge(sim: Simulator, events: Recorder) -> Iterator[Bridge]:
    with Bridge(sim.port, on_pir=events, on_telemetry=events, on_tamper=events, on_hello=events,
                on_lora_tx_done=events, on_lora_rx=events, handshake_timeout=WAIT_S) as started:
        yield started
