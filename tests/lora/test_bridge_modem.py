"""The LoRaModem port over a plain callable (a radio on the companion microcontroller)."""

from __future__ import annotations

import pytest

from station.lora.bridge_modem import CallableModem
from station.lora.errors import LoRaConfigError, ModemError
from station.lora.ports import Downlink, LoRaModem, SendResult, SendStatus


def test_sends_through_the_callable() -> None:
    calls = []
    modem = CallableModem(lambda port, payload, confirmed: calls.append((port, payload, confirmed)), data_rate=3)
    assert isinstance(modem, LoRaModem)
    assert modem.join("00" * 8, "00" * 8, "00" * 16) is True  # the microcontroller joins by itself
    assert modem.send(10, b"\x01", confirmed=True).ok
    assert calls == [(10, b"\x01", True)] and modem.data_rate() == 3
    modem.close()


@pytest.mark.parametrize(("outcome", "status"), [
    (None, SendStatus.OK), (True, SendStatus.OK), (False, SendStatus.NO_ACK), ("busy", SendStatus.BUSY),
    (SendStatus.DUTY_CYCLE, SendStatus.DUTY_CYCLE), (SendResult(SendStatus.NOT_JOINED), SendStatus.NOT_JOINED),
])
def test_outcomes_are_understood(outcome: object, status: SendStatus) -> None:
    assert CallableModem(lambda *_: outcome, data_rate=0).send(10, b"\x01").status is status


def test_unknown_outcome_and_bad_port() -> None:
    with pytest.raises(ModemError, match="returned 42"):
        CallableModem(lambda *_: 42, data_rate=0).send(10, b"\x01")
    with pytest.raises(LoRaConfigError):
        CallableModem(lambda *_: None, data_rate=0).send(224, b"\x01")


def test_downlinks_and_join_and_data_rate_callables() -> None:
    seen: list[Downlink] = []
    modem = CallableModem(lambda *_: None, data_rate=lambda: 5, join=lambda *args: args[3] == 7.0,
                          on_downlink=seen.append)
    modem.deliver_downlink(Downlink(20, b"\x18"))
    assert seen == [Downlink(20, b"\x18")]
    assert modem.send(10, b"\x01").downlinks == (Downlink(20, b"\x18"),)
    assert modem.send(10, b"\x01").downlinks == ()
    assert modem.data_rate() == 5
    assert modem.join("a", "b", "c", timeout=7.0) is True
