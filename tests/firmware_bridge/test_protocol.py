"""Typed messages: every one round-trips through the wire, refuses what it cannot carry, and encodes
to the exact bytes the documentation shows."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from firmware_bridge import protocol as p
from firmware_bridge import wire
from firmware_bridge.errors import BridgeError, MessageFieldError
from firmware_bridge.fields import TamperKind
from firmware_bridge.parser import FrameParser

from .strategies import MESSAGES, frames


def test_every_message_type_has_a_strategy() -> None:
    assert set(MESSAGES) == set(p.MESSAGE_TYPES.values())


@settings(deadline=None, max_examples=400)
@given(frames)
def test_every_message_round_trips_through_a_frame(frame: tuple[p.Message, int]) -> None:
    message, seq = frame
    decoded = FrameParser().feed(p.encode_frame(message, seq))
    assert decoded == [p.SerialFrame(seq, message)]
    assert type(message).decode(message.encode()) == message


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: p.IrLamp(256), "IrLamp.level"),
        (lambda: p.IrLamp(-1), "IrLamp.level"),
        (lambda: p.Pir(0, 1 << 32), "Pir.mcu_ms"),
        (lambda: p.Telemetry(0, 0, 40_000, 0, 0, 0), "Telemetry.temperature_cc"),
        (lambda: p.LoRaSend(0, b""), "LoRaSend.port"),
        (lambda: p.LoRaSend(1, bytes(wire.LORA_MAX_PAYLOAD + 1)), "LoRaSend.payload"),
        (lambda: p.Hello(1, 0, (1, 0, 0), b"short", 0, 0), "Hello.board_id"),
        (lambda: p.Hello(1, 0, (1, 0), bytes(8), 0, 0), "Hello.firmware_version"),
        (lambda: p.SetTime(True), "SetTime.unix"),
    ],
)
def test_fields_out_of_range_are_refused_with_their_name(build, field: str) -> None:
    with pytest.raises(MessageFieldError, match=field) as caught:
        build()
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, BridgeError)


def test_sequence_number_out_of_range_is_refused() -> None:
    with pytest.raises(MessageFieldError):
        p.encode_frame(p.WatchdogKick(), 65536)


def test_values_from_a_newer_peer_stay_plain_integers() -> None:
    frame = FrameParser().feed(p.encode_frame(p.Tamper(9, 1), 3))[0]
    assert frame.message == p.Tamper(9, 1) and not isinstance(frame.message.kind, TamperKind)


# Byte-level checks, paho-mqtt style: what goes on the wire is fixed, not just self-consistent.
# Worked out by hand: CRCs from binascii.crc_hqx(body, 0xFFFF), COBS block by block.
@pytest.mark.parametrize(
    ("message", "seq", "hex_frame"),
    [
        (p.Pir(sensor=1, mcu_ms=123456), 7, "00 03 10 07 05 01 40 e2 01 03 2c 63 00"),
        (p.IrLamp(level=200), 0x0102, "00 07 20 02 01 c8 b6 9b 00"),
        (p.WatchdogKick(), 0, "00 02 21 01 03 7d 6a 00"),
        (p.Ack(seq=7), 1, "00 03 02 01 02 07 03 ba ac 00"),
    ],
)
def test_frames_have_the_documented_bytes(message: p.Message, seq: int, hex_frame: str) -> None:
    assert p.encode_frame(message, seq) == bytes.fromhex(hex_frame)
