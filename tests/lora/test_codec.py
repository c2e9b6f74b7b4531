"""The compact wire format in Python: bytes on the wire, round trips, limits, packing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge.fields import ResetCause
from station.lora.regions import CN470, RU864
from station.vision.species import catalogue
from station.wire import lora_codec as codec
from station.wire.lora_codec import (
    DETECTION_SIZE,
    HEADER_SIZE,
    MAX_COUNT,
    MAX_OFFSET_S,
    STATUS_SIZE,
    CaptureMode,
    DetectionFrame,
    LoRaCodecError,
    LoRaDetection,
    RequestStatus,
    SetCaptureMode,
    SetThresholds,
    StatusFrame,
    capacity,
    decode_downlink,
    decode_uplink,
    encode_detections,
    encode_downlink,
    encode_status,
    lora_detection,
    pack_detections,
)

BASE = 1_700_000_000
TIGER = catalogue()["amur_tiger"].code
HUMAN = catalogue()["human"].code
BOAR = catalogue()["wild_boar"].code
DEER = catalogue()["roe_deer"].code


def frame(*detections: LoRaDetection, sequence: int = 7, base: int = BASE) -> DetectionFrame:
    return DetectionFrame(sequence, base, detections)


# --- bytes on the wire --------------------------------------------------------------------------------

def test_detection_frame_bytes_are_as_documented() -> None:
    payload = encode_detections(frame(LoRaDetection(TIGER, 87, 1, BASE + 12), sequence=0x0102))
    # [ver 1 | type 1] [seq 0x0102] [base 0x6553F100] [species 2 | conf 87 | count 1 | offset 12]
    word = (TIGER << 24) | (87 << 17) | (1 << 13) | 12
    assert payload == bytes([0x11, 0x01, 0x02]) + BASE.to_bytes(4, "big") + word.to_bytes(4, "big")
    assert payload.hex() == "1101026553f10002ae200c"


def test_status_frame_bytes_are_as_documented() -> None:
    status = StatusFrame(sequence=3, time=BASE, battery_mv=3712, storage_used_pct=42, temperature_c=-21,
                         queue_depth=300, reset_cause=ResetCause.WATCHDOG)
    payload = encode_status(status)
    assert payload.hex() == "1200036553f100" + "0e80" + "2a" + "eb" + "012c" + "02"
    assert len(payload) == STATUS_SIZE


def test_downlink_bytes_are_as_documented() -> None:
    assert encode_downlink(RequestStatus()) == b"\x18"
    assert encode_downlink(SetCaptureMode(CaptureMode.WALK_TEST)) == b"\x19\x02"
    assert encode_downlink(SetThresholds(((TIGER, 60), (HUMAN, 40)))) == bytes([0x1A, TIGER, 60, HUMAN, 40])


# --- round trips and sizes ------------------------------------------------------------------------------

@pytest.mark.parametrize("count", range(1, 59))
def test_detection_frame_round_trip_and_size(count: int) -> None:
    detections = tuple(LoRaDetection(i % 256, i % 101, i % 16, BASE + i * 97) for i in range(count))
    payload = encode_detections(frame(*detections))
    assert len(payload) == HEADER_SIZE + DETECTION_SIZE * count
    assert decode_uplink(payload) == frame(*detections)


def test_status_round_trip_with_unknowns() -> None:
    status = StatusFrame(65535, 2**32 - 1, 0, None, None, 0, ResetCause.UNKNOWN)
    assert decode_uplink(encode_status(status)) == status


@pytest.mark.parametrize("command", [
    RequestStatus(), *(SetCaptureMode(mode) for mode in CaptureMode),
    SetThresholds(((TIGER, 0),)), SetThresholds(tuple((code, 100) for code in range(25))),
])
def test_downlink_round_trip(command: codec.DownlinkCommand) -> None:
    assert decode_downlink(encode_downlink(command)) == command


@settings(max_examples=2000, deadline=None)
@given(sequence=st.integers(0, 0xFFFF), base=st.integers(0, 2**32 - 1),
       fields=st.lists(st.tuples(st.integers(0, 255), st.integers(0, 100), st.integers(0, 15),
                                 st.integers(0, MAX_OFFSET_S)), min_size=1, max_size=58))
def test_any_valid_detection_frame_round_trips(sequence: int, base: int, fields: list) -> None:
    original = DetectionFrame(sequence, base, tuple(LoRaDetection(c, p, n, base + o) for c, p, n, o in fields))
    assert decode_uplink(encode_detections(original)) == original


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=80))
def test_decoders_reject_garbage_only_with_codec_errors(payload: bytes) -> None:
    for decode in (decode_uplink, decode_downlink):
        try:
            decode(payload)
        except LoRaCodecError:
            pass


# --- limits, exhaustively -----------------------------------------------------------------------------

def test_every_confidence_value() -> None:
    for confidence in range(128):
        word = (TIGER << 24) | (confidence << 17)
        payload = encode_detections(frame(LoRaDetection(TIGER, 0, 0, BASE)))[:HEADER_SIZE] + word.to_bytes(4, "big")
        if confidence <= 100:
            assert decode_uplink(payload).detections[0].confidence == confidence
            assert decode_uplink(encode_detections(frame(LoRaDetection(TIGER, confidence, 0, BASE)))) \
                .detections[0].confidence == confidence
        else:
            with pytest.raises(LoRaCodecError, match=f"detection 0: confidence {confidence} out of range"):
                decode_uplink(payload)
            with pytest.raises(LoRaCodecError):
                encode_detections(frame(LoRaDetection(TIGER, confidence, 0, BASE)))


def test_every_count_value() -> None:
    for count in range(MAX_COUNT + 1):
        decoded = decode_uplink(encode_detections(frame(LoRaDetection(BOAR, 50, count, BASE))))
        assert decoded.detections[0].count == count
    with pytest.raises(LoRaCodecError, match="count 16 out of range"):
        encode_detections(frame(LoRaDetection(BOAR, 50, MAX_COUNT + 1, BASE)))
    assert lora_detection(BOAR, 0.5, 40, BASE).count == MAX_COUNT  # "15 or more"
    assert lora_detection(BOAR, 0.5, None, BASE).count == 0  # unknown


def test_every_time_offset() -> None:
    for offset in range(MAX_OFFSET_S + 1):
        decoded = decode_uplink(encode_detections(frame(LoRaDetection(DEER, 90, 1, BASE + offset))))
        assert decoded.detections[0].at == BASE + offset
    with pytest.raises(LoRaCodecError, match="8192 s from base time"):
        encode_detections(frame(LoRaDetection(DEER, 90, 1, BASE + MAX_OFFSET_S + 1)))
    with pytest.raises(LoRaCodecError, match="-1 s from base time"):
        encode_detections(frame(LoRaDetection(DEER, 90, 1, BASE - 1)))


def test_header_limits() -> None:
    edge = encode_detections(frame(LoRaDetection(0, 0, 0, 2**32 - 1), sequence=0xFFFF, base=2**32 - 1))
    assert decode_uplink(edge) == frame(LoRaDetection(0, 0, 0, 2**32 - 1), sequence=0xFFFF, base=2**32 - 1)
    with pytest.raises(LoRaCodecError, match="sequence 65536"):
        encode_detections(frame(LoRaDetection(0, 0, 0, BASE), sequence=0x10000))
    with pytest.raises(LoRaCodecError, match="time 4294967296"):
        encode_detections(frame(LoRaDetection(0, 0, 0, 2**32), base=2**32))
    with pytest.raises(LoRaCodecError, match="at least one detection"):
        encode_detections(frame())


def test_status_limits_and_clamping() -> None:
    with pytest.raises(LoRaCodecError, match="storage 101"):
        encode_status(StatusFrame(0, BASE, 3700, 101, 0, 0, 0))
    with pytest.raises(LoRaCodecError, match="temperature -128"):
        encode_status(StatusFrame(0, BASE, 3700, 0, -128, 0, 0))
    with pytest.raises(LoRaCodecError, match="queue depth 65536"):
        encode_status(StatusFrame(0, BASE, 3700, 0, 0, 65536, 0))
    measured = StatusFrame.measured(sequence=1, time=BASE, battery_mv=70000.4, storage_used_pct=100.6,
                                    temperature_c=-300.0, queue_depth=10**6, reset_cause=ResetCause.HARD)
    assert (measured.battery_mv, measured.storage_used_pct, measured.temperature_c, measured.queue_depth) == \
        (65535, 100, -127, 65535)
    for storage in range(256):
        payload = bytearray(encode_status(measured))
        payload[9] = storage
        if storage <= 100 or storage == 255:
            assert decode_uplink(bytes(payload)).storage_used_pct == (None if storage == 255 else storage)
        else:
            with pytest.raises(LoRaCodecError, match=f"storage {storage} out of range"):
                decode_uplink(bytes(payload))


def test_wire_detection_quantises() -> None:
    at = datetime(2024, 5, 1, 3, 0, 0, tzinfo=UTC)
    assert lora_detection(TIGER, 0.874, 1, at) == LoRaDetection(TIGER, 87, 1, int(at.timestamp()))
    assert lora_detection(TIGER, 1.3, 1, BASE).confidence == 100
    assert lora_detection(TIGER, -0.1, 1, BASE).confidence == 0


@pytest.mark.parametrize(("payload", "message"), [
    (b"", "empty payload"),
    (b"\x21" + bytes(10), "unsupported version 2"),
    (b"\x13" + bytes(10), "unknown frame type 3"),
    (b"\x11\x00\x01", "truncated header: 3 bytes, need 7"),
    (b"\x11" + bytes(6), "no detections"),
    (b"\x11" + bytes(6) + b"\x02\x00", "truncated detection: 2 trailing bytes"),
    (b"\x12" + bytes(12), "status frame must be 14 bytes, got 13"),
])
def test_malformed_uplinks_name_the_problem(payload: bytes, message: str) -> None:
    with pytest.raises(LoRaCodecError, match=message):
        decode_uplink(payload)


@pytest.mark.parametrize(("payload", "message"), [
    (b"\x18\x00", "request_status must be 1 byte, got 2"),
    (b"\x19", "set_capture_mode must be 2 bytes, got 1"),
    (b"\x19\x07", "unknown capture mode 7"),
    (b"\x1a\x02", "set_thresholds needs pairs of bytes, got 2 bytes"),
    (b"\x1a" + bytes(52), "set_thresholds carries at most 25 pairs"),
    (b"\x1a\x02\x65", "threshold 0: percent 101 out of range"),
    (b"\x1f", "unknown command type 15"),
    (b"\x08", "unsupported version 0"),
])
def test_malformed_downlinks_name_the_problem(payload: bytes, message: str) -> None:
    with pytest.raises(LoRaCodecError, match=message):
        decode_downlink(payload)


# --- packing --------------------------------------------------------------------------------------------

def test_three_detections_fit_the_smallest_uplink() -> None:
    smallest = CN470.max_payload(1)
    assert smallest == 23
    assert capacity(smallest) >= 3
    detections = [LoRaDetection(TIGER, 90, 1, BASE + i) for i in range(10)]
    packed = pack_detections(detections, sequence=1, max_payload=smallest)
    assert packed is not None and len(packed.payload) <= smallest
    assert len(packed.frame.detections) == capacity(smallest) == 4


@pytest.mark.parametrize("region", [RU864, CN470])
def test_packing_respects_every_data_rate_limit(region) -> None:
    detections = [LoRaDetection(i % 20, 80, 1, BASE + i) for i in range(200)]
    for dr in region.usable_data_rates():
        limit = region.max_payload(dr)
        rest, sent = detections, []
        while rest:
            packed = pack_detections(rest, sequence=len(sent), max_payload=limit)
            assert len(packed.payload) <= limit
            assert decode_uplink(packed.payload) == packed.frame
            sent.extend(packed.frame.detections)
            rest = list(packed.leftover)
        assert sorted(sent, key=lambda d: d.at) == detections  # nothing lost, nothing twice


def test_priority_detections_go_first() -> None:
    ordinary = [LoRaDetection(DEER, 99, 3, BASE + i) for i in range(6)]
    urgent = [LoRaDetection(HUMAN, 70, 2, BASE + 100), LoRaDetection(TIGER, 60, 1, BASE + 50)]
    packed = pack_detections(ordinary + urgent, sequence=9, max_payload=23)
    assert [d.species_code for d in packed.frame.detections] == [TIGER, HUMAN, DEER, DEER]
    assert packed.leftover == tuple(ordinary[2:])  # in the caller's order, for next time


def test_packing_keeps_a_frame_within_the_offset_range() -> None:
    early = LoRaDetection(TIGER, 90, 1, BASE)
    late = LoRaDetection(TIGER, 90, 1, BASE + MAX_OFFSET_S + 1)
    edge = LoRaDetection(BOAR, 90, 1, BASE + MAX_OFFSET_S)
    packed = pack_detections([late, early, edge], sequence=1, max_payload=51)
    assert packed.frame.detections == (early, edge) and packed.leftover == (late,)
    assert packed.frame.base_time == BASE
    again = pack_detections(packed.leftover, sequence=2, max_payload=51)
    assert again.frame.detections == (late,) and again.leftover == ()


def test_packing_edge_cases() -> None:
    assert pack_detections([], sequence=1, max_payload=51) is None
    with pytest.raises(LoRaCodecError, match="cannot hold a header and one detection"):
        pack_detections([LoRaDetection(TIGER, 1, 1, BASE)], sequence=1, max_payload=10)
    unknown = LoRaDetection(200, 50, 1, BASE)  # not in the catalogue: ordinary priority
    packed = pack_detections([unknown, LoRaDetection(HUMAN, 50, 1, BASE + 1)], sequence=1, max_payload=11)
    assert packed.frame.detections[0].species_code == HUMAN and packed.leftover == (unknown,)


@pytest.mark.parametrize(("region", "expected"), [
    (RU864, {0: 11, 1: 11, 2: 11, 3: 27, 4: 58, 5: 58}),
    (CN470, {1: 4, 2: 19, 3: 39, 4: 58, 5: 58}),
])
def test_detections_per_uplink_as_documented(region, expected: dict[int, int]) -> None:
    assert {dr: capacity(region.max_payload(dr)) for dr in region.usable_data_rates()} == expected


def test_three_detection_example_of_the_docs() -> None:
    documented = DetectionFrame(258, BASE, (LoRaDetection(TIGER, 87, 1, BASE + 12),
                                            LoRaDetection(HUMAN, 81, 2, BASE + 300),
                                            LoRaDetection(BOAR, 64, 0, BASE + 1000)))
    assert encode_detections(documented).hex() == "1101026553f10002ae200c01a2412c068003e8"
