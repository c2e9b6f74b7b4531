"""docs/bridge-protocol.md says what the code does: the worked examples and the tables are checked."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from firmware_bridge import protocol as p
from firmware_bridge import wire
from firmware_bridge.fields import Capability, NackReason

DOC = (Path(__file__).parents[2] / "docs" / "bridge-protocol.md").read_text()
EXAMPLES = re.findall(r"<!-- worked-example: (.+?) seq=(\d+) -->\s*```\n(.+?)\n```", DOC)


def test_the_document_has_worked_examples() -> None:
    assert len(EXAMPLES) >= 1


@pytest.mark.parametrize(("expression", "seq", "hex_frame"), EXAMPLES)
def test_worked_example_is_what_the_encoder_writes(expression: str, seq: str, hex_frame: str) -> None:
    message = eval(expression, {"__builtins__": {}}, vars(p))  # e.g. "Pir(sensor=1, mcu_ms=123456)"
    assert p.encode_frame(message, int(seq)) == bytes.fromhex(hex_frame)


@pytest.mark.parametrize("cls", list(p.MESSAGE_TYPES.values()), ids=lambda cls: cls.NAME)
def test_every_message_type_is_in_the_table_with_its_code_and_length(cls: type[p.Message]) -> None:
    row = re.search(rf"^\| 0x{cls.TYPE:02x} \| {cls.NAME} \|.*\| (\S+)(?: \+ 0\.\.(\d+))? \|$", DOC, re.MULTILINE)
    assert row, f"no row for {cls.NAME} (0x{cls.TYPE:02x}) in the message table"
    assert int(row.group(1)) == struct.calcsize(wire.LAYOUTS[cls.TYPE])
    assert f"### 0x{cls.TYPE:02x} {cls.NAME}" in DOC


def test_capability_bits_and_nack_reasons_are_documented() -> None:
    for capability in Capability:
        assert f"| 0x{capability.value:04x} | {capability.name} |" in DOC
    for reason in NackReason:
        assert f"| {reason.value} | {reason.name.lower()} |" in DOC


@pytest.mark.parametrize(
    "statement",
    [f"`MAX_FRAME_LEN = {wire.MAX_FRAME_LEN}`", f"`MAX_PAYLOAD_LEN = {wire.MAX_PAYLOAD_LEN}`",
     f"`MAX_ENCODED_LEN = {wire.MAX_ENCODED_LEN}`", f"0–{wire.LORA_MAX_PAYLOAD} bytes (`LORA_MAX_PAYLOAD`)",
     f"Version **{wire.PROTOCOL_MAJOR}.{wire.PROTOCOL_MINOR}**"],
)
def test_named_limits_match(statement: str) -> None:
    assert statement in DOC
