"""Streaming frame parser: bytes in, typed frames or error events out. Pure, no I/O, never raises.

Kept out of the reader thread so it can be fuzzed on its own. It resynchronises at the next
delimiter after garbage, truncated, oversized or corrupt input and counts each kind of error.
"""

from __future__ import annotations

import dataclasses
import enum
from collections import Counter
from collections.abc import Mapping

from firmware_bridge import wire
from firmware_bridge.protocol import SerialFrame, decode_message, type_name


class ErrorKind(enum.Enum):
    COBS = "cobs"  # not valid COBS: a frame cut short, or garbage
    CRC = "crc"  # bits flipped on the line
    TOO_LONG = "too_long"  # no delimiter within the maximum frame length
    SHORT = "short"  # shorter than a header and a CRC
    UNKNOWN_TYPE = "unknown_type"  # CRC fine, type unknown: the peer speaks a newer protocol minor
    BAD_PAYLOAD = "bad_payload"  # CRC fine, payload does not fit its type


_DEFRAMER_ERRORS = {
    wire.ERR_COBS: ErrorKind.COBS,
    wire.ERR_CRC: ErrorKind.CRC,
    wire.ERR_TOO_LONG: ErrorKind.TOO_LONG,
    wire.ERR_SHORT: ErrorKind.SHORT,
}


@dataclasses.dataclass(frozen=True)
class ParseError:
    """Something on the line that is not a valid frame. ``seq`` and ``msg_type`` are known only
    for frames whose CRC was fine (UNKNOWN_TYPE, BAD_PAYLOAD): the receiver can NACK those."""

    kind: ErrorKind
    detail: str
    seq: int | None = None
    msg_type: int | None = None


class FrameParser:
    """Feed it bytes as they arrive, in any slicing; it returns what they completed."""

    def __init__(self) -> None:
        self._deframer = wire.Deframer()
        self._errors: Counter[ErrorKind] = Counter()
        self.frames_ok = 0

    @property
    def errors(self) -> Mapping[ErrorKind, int]:
        """How many of each kind of error were seen since this parser was made."""
        return dict(self._errors)

    def reset(self) -> None:
        """Forget a partial frame (e.g. after reopening the port); the counters are kept."""
        self._deframer.reset()

    def feed(self, data: bytes) -> list[SerialFrame | ParseError]:
        results: list[SerialFrame | ParseError] = []
        for status, value in self._deframer.feed(data):
            if status == wire.FRAME_OK:
                item = self._decode(*value)
            else:
                kind = _DEFRAMER_ERRORS[status]
                item = ParseError(kind, f"{kind.value} error in {len(value)} bytes: {value[:16].hex(' ')}")
            if isinstance(item, ParseError):
                self._errors[item.kind] += 1
            else:
                self.frames_ok += 1
            results.append(item)
        return results

    @staticmethod
    def _decode(msg_type: int, seq: int, payload: bytes) -> SerialFrame | ParseError:
        if not wire.is_known(msg_type):
            return ParseError(ErrorKind.UNKNOWN_TYPE, f"unknown message type 0x{msg_type:02x}", seq, msg_type)
        try:
            return SerialFrame(seq, decode_message(msg_type, payload))
        except ValueError as exc:  # wrong length, or a field the typed layer refuses
            detail = f"{type_name(msg_type)} with {len(payload)} payload bytes: {exc}"
            return ParseError(ErrorKind.BAD_PAYLOAD, detail, seq, msg_type)
