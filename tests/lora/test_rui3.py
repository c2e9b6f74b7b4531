"""The RUI3 line parser on its own: every event and status spelling, and garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.lora.errors import LoRaConfigError, ModemError
from station.lora.modem import split_lines
from station.lora.ports import Downlink, SendStatus
from station.lora.rui3 import EventKind, Rui3Dialect, parse_event, parse_value, status_of


@pytest.mark.parametrize(("line", "kind"), [
    ("+EVT:JOINED", EventKind.JOINED),
    ("+EVT:JOIN FAILED", EventKind.JOIN_FAILED),  # RUI3 before v3.2.0
    ("+EVT:JOIN_FAILED_RX_TIMEOUT", EventKind.JOIN_FAILED),
    ("+EVT:JOIN_FAILED_TX_TIMEOUT", EventKind.JOIN_FAILED),
    ("+EVT:TX_DONE", EventKind.TX_DONE),
    ("+EVT:SEND CONFIRMED OK", EventKind.CONFIRMED),
    ("+EVT:SEND_CONFIRMED_OK", EventKind.CONFIRMED),
    ("+EVT:SEND CONFIRMED FAILED", EventKind.NOT_CONFIRMED),
    ("+EVT:SEND_CONFIRMED_FAILED(4)", EventKind.NOT_CONFIRMED),
    ("+EVT:LINKCHECK:0:20:1:-60:8", EventKind.OTHER),
    ("+EVT:RX_1:-70:8:UNICAST:3:abcd", EventKind.DOWNLINK),
])
def test_event_spellings(line: str, kind: EventKind) -> None:
    event = parse_event(line + "\r")
    assert event is not None and event.kind is kind


def test_downlink_fields() -> None:
    assert parse_event("+EVT:RX_2:-107:-7:UNICAST:15:BEEF").downlink == Downlink(15, b"\xbe\xef", -107, -7)
    assert parse_event("+EVT:RX_C:-12:3:UNICAST:1:22334455").downlink.port == 1
    assert parse_event("+EVT:RX_1:-70:8:UNICAST:0:").downlink == Downlink(0, b"", -70, 8)
    assert parse_event("+EVT:RX_1:-70:8:UNICAST:3:ABC").kind is EventKind.OTHER  # odd hex


def test_not_events_and_statuses() -> None:
    assert parse_event("OK") is None and parse_event("AT+DR=3") is None
    assert status_of("OK\r") == "OK"
    for error in ("AT_ERROR", "AT_PARAM_ERROR", "AT_BUSY_ERROR", "AT_NO_NETWORK_JOINED",
                  "AT_DUTYCYCLE_RESTRICTED", "AT_DUTYCYLE_RESTRICTED"):
        assert status_of(error) == error
    assert status_of("AT+DR=3") is None and status_of("OKAY") is None


def test_send_refusals_and_outcomes() -> None:
    dialect = Rui3Dialect()
    assert dialect.send_refusal("AT_BUSY_ERROR") is SendStatus.BUSY
    assert dialect.send_refusal("AT_NO_NETWORK_JOINED") is SendStatus.NOT_JOINED
    assert dialect.send_refusal("AT_DUTYCYLE_RESTRICTED") is SendStatus.DUTY_CYCLE
    assert dialect.send_refusal("AT_PARAM_ERROR") is None
    tx_done, ok, failed = (parse_event(x) for x in ("+EVT:TX_DONE", "+EVT:SEND_CONFIRMED_OK",
                                                    "+EVT:SEND_CONFIRMED_FAILED(4)"))
    assert dialect.send_done(tx_done, False) is SendStatus.OK and dialect.send_done(tx_done, True) is None
    assert dialect.send_done(ok, True) is SendStatus.OK and dialect.send_done(failed, True) is SendStatus.NO_ACK
    assert dialect.send_done(ok, False) is None


def test_values_old_and_new_format() -> None:
    assert parse_value("DR", ["AT+DR=3"]) == "3"
    assert parse_value("NJM", ["1"]) == "1"  # older firmware prints the bare value
    with pytest.raises(ModemError):
        parse_value("DR", [])


def test_command_text() -> None:
    dialect = Rui3Dialect()
    assert dialect.send_command(10, b"\x01\xab") == "AT+SEND=10:01AB"
    assert dialect.join_setup("70-b3-d5-7e-d0-01-23-45", "0000000000000001", "00" * 16)[1] == \
        "AT+DEVEUI=70B3D57ED0012345"
    with pytest.raises(LoRaConfigError, match="DevEUI must be 8 bytes"):
        dialect.join_setup("123", "0000000000000001", "00" * 16)


def test_split_lines() -> None:
    lines, rest = split_lines(bytearray(b"OK\r\n\r\nAT+DR=3\rpart"))
    assert lines == ["OK", "AT+DR=3"] and rest == bytearray(b"part")
    assert split_lines(bytearray(b"x" * 2000)) == ([], bytearray())


@settings(max_examples=3000, deadline=None)
@given(st.text(max_size=80) | st.binary(max_size=80).map(lambda b: b.decode("latin-1")))
def test_parser_never_raises(line: str) -> None:
    parse_event(line)
    parse_event("+EVT:" + line)
    parse_event("+EVT:RX_1:" + line)
    status_of(line)
