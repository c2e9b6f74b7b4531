"""The streaming parser: resynchronises after every kind of bad input, counts it, never raises."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge import protocol as p
from firmware_bridge import wire
from firmware_bridge.parser import ErrorKind, FrameParser, ParseError

from .strategies import frames

PIR = p.encode_frame(p.Pir(1, 123456), 7)
EXPECTED = p.SerialFrame(7, p.Pir(1, 123456))


def _frames_only(items: list) -> list[p.SerialFrame]:
    return [item for item in items if isinstance(item, p.SerialFrame)]


def test_garbage_before_a_frame_is_one_error_and_the_frame_survives() -> None:
    parser = FrameParser()
    items = parser.feed(b"\x13\x37 boot banner \xff\xfe" + PIR)
    assert items[-1] == EXPECTED and len(items) == 2
    assert sum(parser.errors.values()) == 1


def test_truncated_frame_then_a_whole_one() -> None:
    parser = FrameParser()
    assert parser.feed(PIR[:6] + PIR)[-1] == EXPECTED
    assert parser.errors == {ErrorKind.COBS: 1}


def test_flipped_bit_is_a_crc_error() -> None:
    corrupt = bytearray(PIR)
    corrupt[6] ^= 0x04
    parser = FrameParser()
    assert parser.feed(bytes(corrupt) + PIR)[-1] == EXPECTED
    assert parser.errors == {ErrorKind.CRC: 1}


def test_endless_bytes_without_a_delimiter_are_cut_at_the_maximum_length() -> None:
    parser = FrameParser()
    items = parser.feed(b"\x55" * 5000)
    items += parser.feed(PIR)
    assert parser.errors == {ErrorKind.TOO_LONG: 1}
    assert items[-1] == EXPECTED


def test_short_frame_and_empty_frames() -> None:
    parser = FrameParser()
    items = parser.feed(b"\x00\x00\x00\x02\x10\x00" + PIR)  # back-to-back delimiters are padding
    assert parser.errors == {ErrorKind.SHORT: 1}
    assert items[-1] == EXPECTED


def test_valid_crc_but_unknown_type_or_wrong_length_carries_the_seq_for_a_nack() -> None:
    parser = FrameParser()
    stream = wire.encode_frame(0x7E, 41, b"\x01") + wire.encode_frame(wire.PIR, 42, b"\x01")
    unknown, wrong_length = parser.feed(stream)
    assert (unknown.kind, unknown.seq, unknown.msg_type) == (ErrorKind.UNKNOWN_TYPE, 41, 0x7E)
    assert (wrong_length.kind, wrong_length.seq) == (ErrorKind.BAD_PAYLOAD, 42)
    assert parser.frames_ok == 0


@settings(deadline=None)
@given(st.lists(frames, min_size=1, max_size=10), st.binary(max_size=64), st.integers(1, 17))
def test_frames_survive_garbage_and_any_chunking(framed: list, garbage: bytes, chunk: int) -> None:
    stream = garbage + b"".join(p.encode_frame(message, seq) for message, seq in framed)
    parser = FrameParser()
    items = [item for start in range(0, len(stream), chunk) for item in parser.feed(stream[start : start + chunk])]
    decoded = _frames_only(items)
    assert decoded[-len(framed) :] == [p.SerialFrame(seq, message) for message, seq in framed]


def _valid_frames(rng: random.Random, count: int) -> list[bytes]:
    messages = [p.Pir(rng.randrange(4), rng.getrandbits(32)), p.Telemetry(12_000, 5_000, -512, 40, 1_700_000_000, 1),
                p.LoRaSend(5, rng.randbytes(rng.randrange(223)), True), p.Hello(1, 0, (1, 2, 3), b"ABCDEFGH", 255, 9),
                p.Ack(rng.getrandbits(16)), p.IrLamp(rng.randrange(256)), p.WatchdogKick()]
    return [p.encode_frame(rng.choice(messages), rng.getrandbits(16)) for _ in range(count)]


def _mangle(rng: random.Random, frame: bytes) -> bytes:
    """One of: random bytes, a truncated frame, a bit-flipped frame, a frame without delimiters."""
    choice = rng.randrange(4)
    if choice == 0:
        return rng.randbytes(rng.randrange(1, 300))
    if choice == 1:
        return frame[: rng.randrange(1, len(frame))]
    if choice == 2:
        flipped = bytearray(frame)
        for _ in range(rng.randrange(1, 4)):
            flipped[rng.randrange(len(flipped))] ^= 1 << rng.randrange(8)
        return bytes(flipped)
    return frame.strip(b"\x00") * rng.randrange(1, 4)


def test_fuzz_100k_bad_frames_never_raise_and_the_next_good_frame_decodes() -> None:
    rng = random.Random(20_240_611)  # fixed: a failure can be replayed
    parser, pool = FrameParser(), _valid_frames(rng, 512)
    sentinel_message = p.Pir(3, 0xDEADBEEF)
    mangled_count = 0
    while mangled_count < 100_000:
        batch = b"".join(_mangle(rng, rng.choice(pool)) for _ in range(20))
        mangled_count += 20
        sentinel_seq = rng.getrandbits(16)
        batch += p.encode_frame(sentinel_message, sentinel_seq)
        cut = rng.randrange(len(batch))
        items = parser.feed(batch[:cut]) + parser.feed(batch[cut:])
        assert all(isinstance(item, p.SerialFrame | ParseError) for item in items)
        assert items[-1] == p.SerialFrame(sentinel_seq, sentinel_message), "a good frame after garbage was lost"
    errors = parser.errors
    assert {ErrorKind.COBS, ErrorKind.CRC, ErrorKind.TOO_LONG, ErrorKind.SHORT} <= set(errors)
    # How fast garbage is parsed beside clean frames is measured by tests/bench/bench_parser.py, not here.
