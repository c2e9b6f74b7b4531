"""Fixtures of the LoRa tests: a simulated RUI3 modem on a pty with the real driver on the other end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from station.lora.modem import AtModem
from station.lora.modem_sim import SimulatedModem

DEV_EUI = "70B3D57ED0012345"
APP_EUI = "0000000000000001"
APP_KEY = "2B7E151628AED2A6ABF7158809CF4F3C"


@pytest.fixture
def sim() -> Iterator[SimulatedModem]:
    with SimulatedModem(region="RU864") as modem:
        yield modem


@pytest.fixture
def modem(sim: SimulatedModem) -> Iterator[AtModem]:
    # rx_grace_s bounds how long a send waits for a downlink that follows the TX event; the simulator
    # writes both in one go, so a short grace only costs time on sends without a downlink.
    with AtModem.open(sim.port_name, command_timeout_s=2.0, send_timeout_s=5.0, rx_grace_s=0.1) as driver:
        yield driver


@pytest.fixture
def joined(modem: AtModem) -> AtModem:
    assert modem.join(DEV_EUI, APP_EUI, APP_KEY, timeout=5.0)
    return modem
