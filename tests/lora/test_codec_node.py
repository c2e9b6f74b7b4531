"""deploy/lorawan/codec.js against the Python codec: thousands of hypothesis vectors, one Node process.

Hypothesis generates the vectors (valid frames from the Python encoder, and malformed ones: truncated,
wrong version, unknown type, out-of-range fields, random bytes, invalid downlink requests); one ``node``
run decodes/encodes the whole batch; every answer must equal the Python mirror in ``station.wire.lora_json``,
``data``, ``warnings`` and ``errors`` alike.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from firmware_bridge.fields import ResetCause
from station.vision.species import by_code
from station.wire.lora_codec import (
    DOWNLINK_PORT,
    MAX_OFFSET_S,
    UPLINK_PORT,
    CaptureMode,
    DetectionFrame,
    LoRaDetection,
    RequestStatus,
    SetCaptureMode,
    SetThresholds,
    StatusFrame,
    decode_downlink,
    encode_detections,
    encode_downlink,
    encode_status,
)
from station.wire.lora_json import (
    decode_downlink_json,
    decode_uplink_json,
    downlink_data,
    encode_downlink_json,
)

ROOT = Path(__file__).resolve().parents[2]
CODEC_JS = ROOT / "deploy" / "lorawan" / "codec.js"
RUNNER_JS = Path(__file__).with_name("codec_runner.js")
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node (Node.js) is not installed; the JS codec cannot run")

KEYS = sorted(s.key for s in by_code().values())
#: One status frame per reset-cause code the board's wire defines, and one past them.
RESET_CODES = [*map(int, ResetCause), max(ResetCause) + 1]

# --- strategies -----------------------------------------------------------------------------------------

detection_fields = st.tuples(st.integers(0, 255), st.integers(0, 100), st.integers(0, 15), st.integers(0, MAX_OFFSET_S))


@st.composite
def detection_payloads(draw: st.DrawFn) -> bytes:
    base = draw(st.integers(0, 2**32 - 1))
    fields = draw(st.lists(detection_fields, min_size=1, max_size=58))
    frame = DetectionFrame(draw(st.integers(0, 0xFFFF)), base,
                           tuple(LoRaDetection(c, p, n, base + o) for c, p, n, o in fields))
    return encode_detections(frame)


@st.composite
def status_payloads(draw: st.DrawFn) -> bytes:
    return encode_status(StatusFrame(
        draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 2**32 - 1)), draw(st.integers(0, 0xFFFF)),
        draw(st.none() | st.integers(0, 100)), draw(st.none() | st.integers(-127, 127)),
        draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 255))))


@st.composite
def damaged(draw: st.DrawFn, valid: st.SearchStrategy[bytes]) -> bytes:
    """A valid payload truncated, with a byte changed, or with its version/type nibble replaced."""
    payload = bytearray(draw(valid))
    how = draw(st.sampled_from(["truncate", "byte", "version", "type", "extend"]))
    if how == "truncate":
        return bytes(payload[:draw(st.integers(0, len(payload) - 1))])
    if how == "byte":
        payload[draw(st.integers(0, len(payload) - 1))] = draw(st.integers(0, 255))
    elif how == "version":
        payload[0] = (draw(st.integers(0, 15)) << 4) | (payload[0] & 0x0F)
    elif how == "type":
        payload[0] = (payload[0] & 0xF0) | draw(st.integers(0, 15))
    else:
        payload += draw(st.binary(min_size=1, max_size=5))
    return bytes(payload)


commands = st.one_of(
    st.just(RequestStatus()),
    st.sampled_from(CaptureMode).map(SetCaptureMode),
    st.lists(st.tuples(st.integers(0, 255), st.integers(0, 100)), min_size=1, max_size=25)
    .map(lambda pairs: SetThresholds(tuple(pairs))),
)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-300, 300),
                         st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=12))
threshold_entries = st.one_of(
    st.fixed_dictionaries({"species": st.sampled_from(KEYS), "percent": st.integers(-5, 105)}),
    st.fixed_dictionaries({"species_code": st.integers(-5, 260) | st.floats(0, 255, width=32),
                           "percent": json_scalars}),
    st.fixed_dictionaries({"species": json_scalars, "species_code": json_scalars, "percent": json_scalars}),
    json_scalars,
)
bad_requests = st.one_of(
    json_scalars,
    st.fixed_dictionaries({"command": json_scalars}),
    st.fixed_dictionaries({"command": st.just("set_capture_mode"),
                           "mode": st.sampled_from(["paused", "normal", "walk_test"]) | json_scalars}),
    st.fixed_dictionaries({"command": st.just("set_thresholds"),
                           "thresholds": st.lists(threshold_entries, max_size=27) | json_scalars}),
)


def collect(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """``count`` examples drawn by hypothesis (derandomized: the same batch every run)."""
    found: list[Any] = []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(example: Any) -> None:
        found.append(example)

    draw()
    return found


# --- one node run for the module ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    valid_uplinks = detection_payloads() | status_payloads()
    uplinks = (collect(detection_payloads(), 1200) + collect(status_payloads(), 600)
               + collect(damaged(valid_uplinks), 1500) + collect(st.binary(max_size=40), 500)
               + [encode_status(StatusFrame(1, 0, 3700, 50, 10, 0, code)) for code in RESET_CODES])
    valid_commands = collect(commands, 800)
    command_bytes = [encode_downlink(c) for c in valid_commands]
    downlink_bytes = (command_bytes + collect(damaged(commands.map(encode_downlink)), 600)
                      + collect(st.binary(max_size=12), 300))
    requests = [downlink_data(c)[0] for c in valid_commands] + collect(bad_requests, 1200)
    uplink_ports = ports_for(len(uplinks), UPLINK_PORT)
    uplink_ports[-len(RESET_CODES):] = [UPLINK_PORT] * len(RESET_CODES)  # the reset-cause frames: right port
    downlink_ports = ports_for(len(downlink_bytes), DOWNLINK_PORT)
    vectors = {
        "decodeUplink": [{"bytes": list(p), "fPort": f} for p, f in zip(uplinks, uplink_ports, strict=True)],
        "decodeDownlink": [{"bytes": list(p), "fPort": f} for p, f in zip(downlink_bytes, downlink_ports, strict=True)],
        "encodeDownlink": [{"data": r} for r in requests],
        "oddInputs": [None, {}, {"bytes": None}, {"bytes": 12}, {"bytes": "xyz"}],
    }
    path = tmp_path_factory.mktemp("codec") / "vectors.json"
    path.write_text(json.dumps(vectors))
    done = subprocess.run([NODE, "--expose-internals", str(RUNNER_JS), str(CODEC_JS), str(path)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return {"uplinks": uplinks, "uplink_ports": uplink_ports, "downlink_bytes": downlink_bytes,
            "downlink_ports": downlink_ports, "commands": valid_commands,
            "requests": requests, "js": json.loads(done.stdout)}


WRONG_PORTS = [0, 1, 11, 20, 99, 223, 255, None, "10", True, 10.5]


def ports_for(count: int, right: int) -> list[Any]:
    """The right fPort for most messages; every seventh one on a wrong, missing or odd fPort."""
    return [WRONG_PORTS[(i // 7) % len(WRONG_PORTS)] if i % 7 == 3 else right for i in range(count)]


def assert_all_equal(inputs: list[Any], expected: list[Any], actual: list[Any]) -> None:
    assert len(expected) == len(actual)
    wrong = [(x, e, a) for x, e, a in zip(inputs, expected, actual, strict=True) if e != a]
    assert not wrong, f"{len(wrong)} of {len(inputs)} disagree; first: input={wrong[0][0]!r}\n" \
                      f"python={wrong[0][1]!r}\nnode={wrong[0][2]!r}"


def test_batch_is_thousands_of_cases(batch: dict[str, Any]) -> None:
    assert len(batch["uplinks"]) + len(batch["downlink_bytes"]) + len(batch["requests"]) > 5000
    assert sum(1 for r in batch["js"]["decodeUplink"] if r["errors"]) > 1000  # the malformed share
    assert sum(1 for r in batch["js"]["decodeUplink"] if not r["errors"]) > 1500


def test_decode_uplink_agrees(batch: dict[str, Any]) -> None:
    expected = [decode_uplink_json(p, f) for p, f in zip(batch["uplinks"], batch["uplink_ports"], strict=True)]
    assert_all_equal(batch["uplinks"], expected, batch["js"]["decodeUplink"])


def test_decode_downlink_agrees(batch: dict[str, Any]) -> None:
    expected = [decode_downlink_json(p, f)
                for p, f in zip(batch["downlink_bytes"], batch["downlink_ports"], strict=True)]
    assert_all_equal(batch["downlink_bytes"], expected, batch["js"]["decodeDownlink"])


def test_encode_downlink_agrees(batch: dict[str, Any]) -> None:
    expected = [encode_downlink_json(r) for r in batch["requests"]]
    assert_all_equal(batch["requests"], expected, batch["js"]["encodeDownlink"])


def test_encode_downlink_is_what_python_decodes(batch: dict[str, Any]) -> None:
    js = batch["js"]["encodeDownlink"][:len(batch["commands"])]
    for command, answer in zip(batch["commands"], js, strict=True):
        assert answer["errors"] == [] and answer["fPort"] == DOWNLINK_PORT
        assert decode_downlink(bytes(answer["bytes"])) == command


def test_odd_inputs_give_errors_not_exceptions(batch: dict[str, Any]) -> None:
    for uplink, downlink in batch["js"]["oddInputs"]:
        assert uplink["errors"] and downlink["errors"]
        assert uplink["data"] == {} and downlink["data"] == {}


def test_a_frame_on_another_fport_is_refused(batch: dict[str, Any]) -> None:
    """fPort 99 once decoded as detections; now every frame off fPort 10 (or 20 downlink) is an error."""
    answers = list(zip(batch["uplinks"], batch["uplink_ports"], batch["js"]["decodeUplink"], strict=True))
    wrong = [(port, answer) for _, port, answer in answers if port != UPLINK_PORT]
    assert len(wrong) > 300
    for port, answer in wrong:
        assert answer["data"] == {} and len(answer["errors"]) == 1
        assert ("unexpected fPort" in answer["errors"][0]) == (isinstance(port, int) and not isinstance(port, bool))
    on_99 = next(answer for _, port, answer in answers if port == 99)
    assert on_99["errors"] == ["unexpected fPort 99: trapd uplinks use fPort 10"]


def test_species_table_matches_the_catalogue(batch: dict[str, Any]) -> None:
    assert batch["js"]["species"] == {str(code): s.key for code, s in by_code().items()}


def test_reset_causes_are_the_boards_own(batch: dict[str, Any]) -> None:
    """The board's telemetry code travels unchanged in the LoRa status: codec.js names it as the bridge does."""
    decoded = batch["js"]["decodeUplink"][-len(RESET_CODES):]
    names = [(d["data"]["reset_cause_code"], d["data"]["reset_cause"]) for d in decoded]
    assert names == [(int(c), c.name.lower()) for c in ResetCause] + [(RESET_CODES[-1], None)]
    assert ResetCause.HARD == 3 and decoded[-1]["warnings"] == [f"unknown reset cause {RESET_CODES[-1]}"]


def test_ports_match(batch: dict[str, Any]) -> None:
    assert batch["js"]["ports"] == {"uplink": UPLINK_PORT, "downlink": DOWNLINK_PORT}


def test_codec_is_es5_and_small(batch: dict[str, Any]) -> None:
    source = CODEC_JS.read_text(encoding="utf-8")
    assert len(source.encode("utf-8")) < 40_000, "The Things Stack caps a payload formatter at 40 KB"
    check = batch["js"]["es5"]
    if not check["checked"]:
        pytest.skip(f"no ES5 parser in this Node: {check['error']}")
    assert check["error"] is None, f"codec.js is not ES5.1: {check['error']}"
