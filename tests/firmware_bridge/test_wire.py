"""The shared protocol core (wire.py): CRC, COBS, framing, and that the firmware can run it."""

from __future__ import annotations

import ast
import binascii
import enum
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware_bridge import protocol, wire
from firmware_bridge.fields import Capability, LoRaTxStatus, NackReason, ResetCause, TamperKind

FIRMWARE_SIDE = [
    Path(wire.__file__),
    Path(protocol.__file__).parent / "firmware" / "node.py",
    Path(protocol.__file__).parent / "firmware" / "power.py",
    Path(protocol.__file__).parent / "firmware" / "main.py",
    Path(protocol.__file__).parent / "firmware" / "unix" / "machine.py",  # runs under MicroPython's Unix port
]
MICROPYTHON_MODULES = {"struct", "micropython", "machine", "time", "os", "select", "sys", "wire", "node", "power",
                       "firmware_bridge", "firmware_bridge.firmware"}
BUILTIN_ANNOTATIONS = {"int", "bytes", "bool", "list", "tuple", "str"}


def test_crc_is_ccitt_false_check_value() -> None:
    assert wire.crc16(b"123456789") == 0x29B1


@settings(deadline=None)
@given(st.binary(max_size=300))
def test_crc_matches_the_standard_library(data: bytes) -> None:
    assert wire.crc16(data) == binascii.crc_hqx(data, 0xFFFF)


# From the COBS paper's examples as listed on Wikipedia ("Consistent Overhead Byte Stuffing").
COBS_VECTORS = [
    (b"", b"\x01"),
    (b"\x00", b"\x01\x01"),
    (b"\x00\x00", b"\x01\x01\x01"),
    (b"\x00\x11\x00", b"\x01\x02\x11\x01"),
    (b"\x11\x22\x00\x33", b"\x03\x11\x22\x02\x33"),
    (b"\x11\x22\x33\x44", b"\x05\x11\x22\x33\x44"),
    (b"\x11\x00\x00\x00", b"\x02\x11\x01\x01\x01"),
    (bytes(range(1, 255)), b"\xff" + bytes(range(1, 255))),
    (bytes(range(0, 255)), b"\x01\xff" + bytes(range(1, 255))),
    (bytes(range(1, 256)), b"\xff" + bytes(range(1, 255)) + b"\x02\xff"),
    (bytes(range(2, 256)) + b"\x00", b"\xff" + bytes(range(2, 256)) + b"\x01\x01"),
    (bytes(range(3, 256)) + b"\x00\x01", b"\xfe" + bytes(range(3, 256)) + b"\x02\x01"),
]


@pytest.mark.parametrize(("raw", "encoded"), COBS_VECTORS)
def test_cobs_known_vectors(raw: bytes, encoded: bytes) -> None:
    assert wire.cobs_encode(raw) == encoded
    assert wire.cobs_decode(encoded) == raw


@settings(deadline=None)
@given(st.binary(max_size=1200))
def test_cobs_round_trips_without_zero_bytes(data: bytes) -> None:
    encoded = wire.cobs_encode(data)
    assert 0 not in encoded
    assert len(encoded) <= len(data) + len(data) // 254 + 1
    assert wire.cobs_decode(encoded) == data


@pytest.mark.parametrize("encoded", [b"\x05\x11\x22", b"\x03\x11\x00", b"\xff\x01"])
def test_cobs_refuses_truncated_or_zero_containing_input(encoded: bytes) -> None:
    with pytest.raises(ValueError):
        wire.cobs_decode(encoded)


def test_largest_frame_fits_the_named_limits() -> None:
    frame = wire.encode_frame(wire.LORA_SEND, 0xFFFF, b"\xff" * wire.MAX_PAYLOAD_LEN)
    assert wire.HEADER_LEN + wire.MAX_PAYLOAD_LEN + wire.CRC_LEN == wire.MAX_FRAME_LEN
    assert wire.MAX_ENCODED_LEN == wire.MAX_FRAME_LEN + -(-wire.MAX_FRAME_LEN // 254)  # COBS's worst case
    assert len(frame) - 2 <= wire.MAX_ENCODED_LEN  # minus the two delimiters
    assert wire.Deframer().feed(frame)[0][0] == wire.FRAME_OK
    with pytest.raises(ValueError):
        wire.encode_frame(wire.LORA_SEND, 0, b"\x01" * (wire.MAX_PAYLOAD_LEN + 1))


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(max_size=60)), max_size=8),
       st.lists(st.integers(1, 40), min_size=1))
def test_deframer_reassembles_frames_across_any_split(frames: list, cuts: list[int]) -> None:
    stream = b"".join(wire.encode_frame(*frame) for frame in frames)
    deframer, results, position = wire.Deframer(), [], 0
    for cut in cuts * (len(stream) // sum(cuts) + 1):
        results += deframer.feed(stream[position : position + cut])
        position += cut
    assert results == [(wire.FRAME_OK, frame) for frame in frames]


def test_message_types_have_one_layout_and_one_typed_class_each() -> None:
    assert set(protocol.MESSAGE_TYPES) == set(wire.LAYOUTS)
    assert len({cls.NAME for cls in protocol.MESSAGE_TYPES.values()}) == len(protocol.MESSAGE_TYPES)


@pytest.mark.parametrize(
    ("prefix", "enum_type"),
    [("CAP_", Capability), ("NACK_", NackReason), ("RESET_", ResetCause),
     ("TAMPER_", TamperKind), ("TX_", LoRaTxStatus)],
)
def test_typed_enums_mirror_the_shared_constants(prefix: str, enum_type: type[enum.Enum]) -> None:
    shared = {name.removeprefix(prefix): getattr(wire, name) for name in dir(wire) if name.startswith(prefix)}
    typed = {member.name: member.value for member in enum_type}  # type: ignore[attr-defined]
    assert typed == shared


@pytest.mark.parametrize("path", FIRMWARE_SIDE, ids=lambda path: path.name)
def test_firmware_side_stays_in_the_micropython_subset(path: Path) -> None:
    """What the board runs may import only MicroPython modules and use no CPython-only syntax."""
    tree = ast.parse(path.read_text(), filename=str(path))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            problems += [alias.name for alias in node.names if alias.name not in MICROPYTHON_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module not in MICROPYTHON_MODULES:
            problems.append(f"from {node.module}")
        elif isinstance(node, ast.JoinedStr):
            problems.append(f"f-string at line {node.lineno}")
        elif isinstance(node, (ast.AnnAssign, ast.Match, ast.AsyncFunctionDef)):
            problems.append(f"{type(node).__name__} at line {node.lineno}")
        elif isinstance(node, ast.arg | ast.FunctionDef):
            note = node.annotation if isinstance(node, ast.arg) else node.returns
            if note is not None and not (isinstance(note, ast.Name) and note.id in BUILTIN_ANNOTATIONS):
                problems.append(f"annotation {ast.unparse(note)} at line {node.lineno}")
    assert not problems, f"{path.name} uses what MicroPython lacks: {problems}"
