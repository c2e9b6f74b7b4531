"""The library functions behind ``trapd bridge simulate`` and ``trapd bridge monitor``."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest

from firmware_bridge.errors import SimulatorError
from firmware_bridge.simulator import Simulator
from firmware_bridge.tools import monitor, start_simulator

from .conftest import WAIT_S


@pytest.fixture
def simulated() -> Iterator[Simulator]:
    simulator = start_simulator(telemetry_period_s=3600)
    yield simulator
    simulator.stop()


def _next_matching(lines: Iterator[str], word: str) -> str:
    return next(line for line in lines if word in line)


def test_simulate_gives_a_port_path_that_goes_away_on_stop() -> None:
    simulator = start_simulator()
    port = simulator.port
    assert os.path.exists(port) and os.path.realpath(port).startswith("/dev/pts/")
    simulator.stop()
    assert not os.path.exists(port)
    with pytest.raises(SimulatorError):
        simulator.fire_pir()


def test_monitor_shows_decoded_traffic_in_both_directions(simulated: Simulator) -> None:
    stop = threading.Event()
    timer = threading.Timer(WAIT_S, stop.set)  # bounds the test if a line never comes
    timer.start()
    lines = monitor(simulated.port, stop=stop)
    try:
        assert "reply=True" in _next_matching(lines, "rx hello")
        simulated.fire_pir(1)
        assert "sensor=1" in _next_matching(lines, "rx pir")
        assert _next_matching(lines, "tx ack")
    finally:
        lines.close()
        timer.cancel()


def test_passive_monitor_only_listens(simulated: Simulator) -> None:
    stop = threading.Event()
    timer = threading.Timer(WAIT_S, stop.set)
    timer.start()
    lines = monitor(simulated.port, passive=True, stop=stop)
    try:
        line = _next_matching(lines, "rx hello")  # with no host, the board keeps asking for one
        assert "reply=False" in line
    finally:
        lines.close()
        timer.cancel()
    assert simulated.state.frames_in == 0
