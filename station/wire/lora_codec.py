"""The compact LoRa wire format, version 1: pure functions, no I/O. Documented byte by byte in docs/lora.md.

Every payload starts with one byte: version (high nibble, 1) and frame type (low nibble).

Uplinks (fPort 10), big-endian:

    detections  [ver|type=1] [sequence u16] [base_time u32 unix s] then 1..n detections of 4 bytes:
                species code (8 bits) | confidence % (7) | count (4) | offset s from base_time (13)
    status      [ver|type=2] [sequence u16] [time u32] [battery mV u16] [storage % u8, 255 unknown]
                [temperature C i8, -128 unknown] [queue depth u16] [last reset cause u8]

The reset cause is the companion board's, carried unchanged from its telemetry: ``ResetCause`` is the one
definition, owned by the bridge protocol (firmware_bridge/fields.py).

Downlinks (fPort 20): [ver|type] then request_status (8): nothing; set_capture_mode (9): mode u8;
set_thresholds (10): 1..25 pairs of (species code u8, threshold % u8).

Limits, and what happens at them: confidence 0-100 (101-127 are malformed); count 0 = unknown,
1-14 exact, 15 = "15 or more"; offset 0-8191 s (2 h 16 min 31 s): the packer never puts two detections
further apart than that in one frame, the rest waits for the next uplink. The encoders refuse any field
out of range (LoRaCodecError); ``lora_detection`` and ``StatusFrame.measured`` round and clamp.
"""

from __future__ import annotations

import dataclasses
import enum
import struct
from collections.abc import Callable, Sequence
from datetime import datetime

from station.errors import StationError
from station.vision.species import by_code

VERSION = 1
UPLINK_PORT = 10
DOWNLINK_PORT = 20
HEADER_SIZE = 7
DETECTION_SIZE = 4
STATUS_SIZE = 14
MAX_SEQUENCE = 0xFFFF
MAX_TIME = 0xFFFF_FFFF
MAX_CONFIDENCE = 100
MAX_COUNT = 15  # means "15 or more"
MAX_OFFSET_S = (1 << 13) - 1
MAX_THRESHOLDS = 25
STORAGE_UNKNOWN = 255
TEMPERATURE_UNKNOWN = -128



class LoRaCodecError(StationError, ValueError):
    """A payload that cannot be encoded (a field out of range) or decoded (malformed bytes)."""


_HEADER = struct.Struct(">BHI")
_STATUS_BODY = struct.Struct(">HBbHB")


class FrameType(enum.IntEnum):
    DETECTIONS = 1
    STATUS = 2
    REQUEST_STATUS = 8
    SET_CAPTURE_MODE = 9
    SET_THRESHOLDS = 10


class CaptureMode(enum.IntEnum):
    PAUSED = 0
    NORMAL = 1
    WALK_TEST = 2


@dataclasses.dataclass(frozen=True)
class LoRaDetection:
    """One detection as it travels in a LoRa frame: every field already quantised to its 4-byte word's range
    (the JSON message's detection is ``station.wire.messages.WireDetection``)."""

    species_code: int
    confidence: int  # percent, 0-100
    count: int  # 0 unknown, 1-14 exact, 15 = 15 or more
    at: int  # unix seconds


@dataclasses.dataclass(frozen=True)
class DetectionFrame:
    sequence: int
    base_time: int
    detections: tuple[LoRaDetection, ...]


@dataclasses.dataclass(frozen=True)
class StatusFrame:
    sequence: int
    time: int
    battery_mv: int
    storage_used_pct: int | None
    temperature_c: int | None
    queue_depth: int
    reset_cause: int  # a ResetCause value (the board's); other codes decode with a warning

    @classmethod
    def measured(cls, *, sequence: int, time: int, battery_mv: float, storage_used_pct: float | None,
                 temperature_c: float | None, queue_depth: int, reset_cause: int) -> StatusFrame:
        """A status frame from raw readings: rounded and clamped into the wire ranges."""
        return cls(sequence=sequence, time=time, battery_mv=_clamp(round(battery_mv), 0, 0xFFFF),
                   storage_used_pct=None if storage_used_pct is None else _clamp(round(storage_used_pct), 0, 100),
                   temperature_c=None if temperature_c is None else _clamp(round(temperature_c), -127, 127),
                   queue_depth=_clamp(queue_depth, 0, 0xFFFF), reset_cause=reset_cause)


@dataclasses.dataclass(frozen=True)
class RequestStatus:
    """Ask the station for a status uplink."""


@dataclasses.dataclass(frozen=True)
class SetCaptureMode:
    mode: CaptureMode


@dataclasses.dataclass(frozen=True)
class SetThresholds:
    """Per-species confidence thresholds, in percent: ((species code, percent), ...)."""

    thresholds: tuple[tuple[int, int], ...]


Uplink = DetectionFrame | StatusFrame
DownlinkCommand = RequestStatus | SetCaptureMode | SetThresholds


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise LoRaCodecError(message)


def _type_byte(frame_type: FrameType) -> int:
    return (VERSION << 4) | frame_type


def lora_detection(species_code: int, confidence: float, count: int | None, at: int | datetime) -> LoRaDetection:
    """Quantise one detection: confidence 0..1 to the nearest percent, count None to 0 (unknown) and
    anything above 15 to 15 ("15 or more"), a datetime to unix seconds."""
    seconds = int(at.timestamp()) if isinstance(at, datetime) else int(at)
    pct = _clamp(round(confidence * 100), 0, MAX_CONFIDENCE)
    return LoRaDetection(species_code, pct, 0 if count is None else _clamp(count, 0, MAX_COUNT), seconds)


def _check_header(sequence: int, time: int) -> None:
    _require(0 <= sequence <= MAX_SEQUENCE, f"sequence {sequence} out of range 0-{MAX_SEQUENCE}")
    _require(0 <= time <= MAX_TIME, f"time {time} out of range 0-{MAX_TIME}")


def _detection_word(d: LoRaDetection, base_time: int) -> int:
    offset = d.at - base_time
    _require(0 <= d.species_code <= 255, f"species code {d.species_code} out of range 0-255")
    _require(0 <= d.confidence <= MAX_CONFIDENCE, f"confidence {d.confidence} out of range 0-100")
    _require(0 <= d.count <= MAX_COUNT, f"count {d.count} out of range 0-{MAX_COUNT}")
    _require(0 <= offset <= MAX_OFFSET_S, f"detection at {d.at} is {offset} s from base time {base_time}, "
                                          f"outside 0-{MAX_OFFSET_S}")
    return (d.species_code << 24) | (d.confidence << 17) | (d.count << 13) | offset


def encode_detections(frame: DetectionFrame) -> bytes:
    _check_header(frame.sequence, frame.base_time)
    _require(len(frame.detections) > 0, "a detections frame needs at least one detection")
    body = b"".join(_detection_word(d, frame.base_time).to_bytes(4, "big") for d in frame.detections)
    return _HEADER.pack(_type_byte(FrameType.DETECTIONS), frame.sequence, frame.base_time) + body


def encode_status(frame: StatusFrame) -> bytes:
    _check_header(frame.sequence, frame.time)
    _require(0 <= frame.battery_mv <= 0xFFFF, f"battery {frame.battery_mv} mV out of range 0-65535")
    storage, temperature = frame.storage_used_pct, frame.temperature_c
    _require(storage is None or 0 <= storage <= 100, f"storage {storage} out of range 0-100")
    _require(temperature is None or -127 <= temperature <= 127, f"temperature {temperature} out of range -127-127")
    _require(0 <= frame.queue_depth <= 0xFFFF, f"queue depth {frame.queue_depth} out of range 0-65535")
    _require(0 <= frame.reset_cause <= 255, f"reset cause {frame.reset_cause} out of range 0-255")
    return (_HEADER.pack(_type_byte(FrameType.STATUS), frame.sequence, frame.time)
            + _STATUS_BODY.pack(frame.battery_mv, STORAGE_UNKNOWN if storage is None else storage,
                                TEMPERATURE_UNKNOWN if temperature is None else temperature,
                                frame.queue_depth, frame.reset_cause))


def encode_uplink(frame: Uplink) -> bytes:
    if isinstance(frame, DetectionFrame):
        return encode_detections(frame)
    return encode_status(frame)


def decode_uplink(payload: bytes) -> Uplink:
    """Parse an uplink payload; LoRaCodecError (same wording as codec.js) when it is malformed."""
    _require(len(payload) > 0, "empty payload")
    version, frame_type = payload[0] >> 4, payload[0] & 0x0F
    _require(version == VERSION, f"unsupported version {version}")
    if frame_type == FrameType.DETECTIONS:
        return _decode_detections(payload)
    if frame_type == FrameType.STATUS:
        return _decode_status(payload)
    raise LoRaCodecError(f"unknown frame type {frame_type}")


def _decode_detections(payload: bytes) -> DetectionFrame:
    _require(len(payload) >= HEADER_SIZE, f"truncated header: {len(payload)} bytes, need {HEADER_SIZE}")
    rest = len(payload) - HEADER_SIZE
    _require(rest % DETECTION_SIZE == 0, f"truncated detection: {rest % DETECTION_SIZE} trailing bytes")
    _require(rest > 0, "no detections")
    _, sequence, base_time = _HEADER.unpack_from(payload)
    detections = []
    for i in range(rest // DETECTION_SIZE):
        word = int.from_bytes(payload[HEADER_SIZE + 4 * i:HEADER_SIZE + 4 * i + 4], "big")
        confidence = (word >> 17) & 0x7F
        _require(confidence <= MAX_CONFIDENCE, f"detection {i}: confidence {confidence} out of range 0-100")
        detections.append(LoRaDetection(word >> 24, confidence, (word >> 13) & 0x0F,
                                        base_time + (word & MAX_OFFSET_S)))
    return DetectionFrame(sequence, base_time, tuple(detections))


def _decode_status(payload: bytes) -> StatusFrame:
    _require(len(payload) == STATUS_SIZE, f"status frame must be {STATUS_SIZE} bytes, got {len(payload)}")
    _, sequence, time = _HEADER.unpack_from(payload)
    battery, storage, temperature, queue, reset = _STATUS_BODY.unpack_from(payload, HEADER_SIZE)
    _require(storage <= 100 or storage == STORAGE_UNKNOWN, f"storage {storage} out of range 0-100")
    return StatusFrame(sequence, time, battery, None if storage == STORAGE_UNKNOWN else storage,
                       None if temperature == TEMPERATURE_UNKNOWN else temperature, queue, reset)


def encode_downlink(command: DownlinkCommand) -> bytes:
    if isinstance(command, RequestStatus):
        return bytes([_type_byte(FrameType.REQUEST_STATUS)])
    if isinstance(command, SetCaptureMode):
        _require(command.mode in set(CaptureMode), f"unknown capture mode {command.mode}")
        return bytes([_type_byte(FrameType.SET_CAPTURE_MODE), int(command.mode)])
    pairs = command.thresholds
    _require(1 <= len(pairs) <= MAX_THRESHOLDS, f"set_thresholds carries 1-{MAX_THRESHOLDS} pairs, got {len(pairs)}")
    body = bytearray([_type_byte(FrameType.SET_THRESHOLDS)])
    for code, percent in pairs:
        _require(0 <= code <= 255, f"species code {code} out of range 0-255")
        _require(0 <= percent <= 100, f"threshold {percent} out of range 0-100")
        body += bytes([code, percent])
    return bytes(body)


def decode_downlink(payload: bytes) -> DownlinkCommand:
    """Parse a downlink command; LoRaCodecError (same wording as codec.js) when it is malformed."""
    _require(len(payload) > 0, "empty payload")
    version, frame_type = payload[0] >> 4, payload[0] & 0x0F
    _require(version == VERSION, f"unsupported version {version}")
    size = len(payload)
    if frame_type == FrameType.REQUEST_STATUS:
        _require(size == 1, f"request_status must be 1 byte, got {size}")
        return RequestStatus()
    if frame_type == FrameType.SET_CAPTURE_MODE:
        _require(size == 2, f"set_capture_mode must be 2 bytes, got {size}")
        _require(payload[1] in set(CaptureMode), f"unknown capture mode {payload[1]}")
        return SetCaptureMode(CaptureMode(payload[1]))
    if frame_type == FrameType.SET_THRESHOLDS:
        _require(size >= 3 and (size - 1) % 2 == 0, f"set_thresholds needs pairs of bytes, got {size} bytes")
        _require(size <= 1 + 2 * MAX_THRESHOLDS, f"set_thresholds carries at most {MAX_THRESHOLDS} pairs")
        pairs = tuple((payload[i], payload[i + 1]) for i in range(1, size, 2))
        for i, (_, percent) in enumerate(pairs):
            _require(percent <= 100, f"threshold {i}: percent {percent} out of range 0-100")
        return SetThresholds(pairs)
    raise LoRaCodecError(f"unknown command type {frame_type}")


def species_priority(species_code: int) -> int:
    """Catalogue priority of a code (0 = people and big cats, sent first); unknown codes count as 1."""
    found = by_code().get(species_code)
    return 1 if found is None else found.priority


@dataclasses.dataclass(frozen=True)
class Packed:
    """One uplink's worth of detections, and what did not fit (in the caller's order) for next time."""

    payload: bytes
    frame: DetectionFrame
    leftover: tuple[LoRaDetection, ...]


def capacity(max_payload: int) -> int:
    """How many detections fit in an uplink of ``max_payload`` bytes."""
    return max(0, (max_payload - HEADER_SIZE) // DETECTION_SIZE)


def pack_detections(detections: Sequence[LoRaDetection], *, sequence: int, max_payload: int,
                    priority: Callable[[int], int] = species_priority) -> Packed | None:
    """Fill one uplink: lowest priority number first, oldest first within a priority, as many as fit
    in ``max_payload`` bytes, all within ``MAX_OFFSET_S`` of each other. None when there is nothing to pack.
    """
    room = capacity(max_payload)
    if room < 1:
        raise LoRaCodecError(f"{max_payload} bytes cannot hold a header and one detection "
                             f"({HEADER_SIZE + DETECTION_SIZE} bytes)")
    if not detections:
        return None
    order = sorted(range(len(detections)), key=lambda i: (priority(detections[i].species_code), detections[i].at, i))
    chosen: list[int] = []
    low = high = detections[order[0]].at
    for i in order:
        at = detections[i].at
        if len(chosen) == room:
            break
        if max(high, at) - min(low, at) > MAX_OFFSET_S:
            continue  # too far in time from what is already in the frame: next uplink
        chosen.append(i)
        low, high = min(low, at), max(high, at)
    frame = DetectionFrame(sequence, low, tuple(detections[i] for i in chosen))
    picked = set(chosen)
    leftover = tuple(d for i, d in enumerate(detections) if i not in picked)
    return Packed(encode_detections(frame), frame, leftover)
