"""The wire encoding: the shipped dictionary is what the committed script trains and what the docs state,
the documented third-party decoder works, and the framing packs a backlog into batches."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import pytest
import zstandard

from station.central.decode import decode, decode_many
from station.central.errors import BadMessage
from station.store.outbox import PendingMessage
from station.uplink.framing import publishes
from station.wire.encoding import WireEncoder, WireFormatError, decode_payload, dictionary_bytes, parse_content_type
from station.wire.messages import DetectionMessage, TelemetryMessage, encode_json
from tests.conftest import ROOT
from tests.test_wire_bytes import documented_example, documented_wire_hex

WIRE_MD = ROOT / "docs" / "wire.md"
PREFIX = "camtrap/v1/llnp-0412"


def test_shipped_dictionary_matches_docs_and_retrains_byte_for_byte(tmp_path):
    shipped = dictionary_bytes(1)
    documented = re.search(r"<!-- dict-sha256 -->`([0-9a-f]{64})`", WIRE_MD.read_text()).group(1)
    assert hashlib.sha256(shipped).hexdigest() == documented
    out = tmp_path / "retrained.zdict"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_wire_dict.py"), "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == shipped, "retraining differs: a new zstandard? then this is dictionary 2"
    assert zstandard.ZstdCompressionDict(shipped).dict_id() == 32769


def test_documented_decoder_reads_the_documented_bytes(tmp_path):
    block = re.search(r"<!-- decode-example -->\n```python\n(.+?)\n```", WIRE_MD.read_text(), re.S).group(1)
    (tmp_path / "trapd-wire-1.zdict").write_bytes(dictionary_bytes(1))
    namespace = {"payload": documented_wire_hex(), "content_type": "application/vnd.trapd.detection+zstd;dict=1",
                 "open": lambda name, mode: open(tmp_path / name, mode)}
    exec(block, namespace)  # the docs' own code, as a third party would run it
    assert namespace["messages"] == [json.loads(documented_example())]


def test_every_kind_round_trips_and_json_stays_selectable():
    example = documented_example()
    for encoding, content_type in (("zstd-dict", "application/vnd.trapd.detection+zstd;dict=1"),
                                   ("json", "application/json")):
        payload, declared = WireEncoder(encoding).encode("detection", example)
        assert declared == content_type and decode_payload(payload, declared) == example
    payload, declared = WireEncoder().encode_batch([example, example])
    assert declared == "application/vnd.trapd.batch+zstd;dict=1"
    assert decode_payload(payload, declared) == example + b"\n" + example


@pytest.mark.parametrize("content_type, payload, reason", [
    ("application/vnd.trapd.detection+zstd;dict=7", None, "zstd dictionary 7 is unknown here"),
    ("application/vnd.trapd.detection+zstd", None, "names no zstd dictionary"),
    ("application/vnd.trapd.detection+brotli;dict=1", None, "unknown content type"),
    ("application/vnd.trapd.detection+zstd;dict=1", b"{not zstd}", "not a zstd frame"),
    ("application/vnd.trapd.detection+zstd;dict=1", zstandard.ZstdCompressor().compress(b"{}"),
     "dictionary id 0, content type says dict=1"),
    ("application/vnd.trapd.detection+zstd;dict=1", b"\x28\xb5\x2f\xfd\x04\x00\x00\x00\x80", "zstd frame"),
])
def test_unknown_or_broken_encodings_are_refused_with_the_reason(content_type, payload, reason):
    body = payload if payload is not None else WireEncoder().encode("detection", documented_example())[0]
    with pytest.raises(WireFormatError, match=reason):
        decode_payload(body, content_type)
    with pytest.raises(BadMessage, match=reason):  # the central ingest dead-letters it with this reason
        decode(f"{PREFIX}/detections", body, topic_root="camtrap/v1", content_type=content_type)


def test_a_decompression_bomb_is_refused_before_it_is_inflated():
    bomb = WireEncoder().encode("detection", b"{" + b" " * 5_000_000 + b"}")[0]
    assert len(bomb) < 1000
    with pytest.raises(WireFormatError, match="more than 4000000"):
        decode_payload(bomb, "application/vnd.trapd.detection+zstd;dict=1")


def test_content_type_and_topic_must_agree():
    payload, _ = WireEncoder().encode("telemetry", documented_example())
    with pytest.raises(BadMessage, match="is for 'telemetry' messages"):
        decode(f"{PREFIX}/detections", payload, topic_root="camtrap/v1",
               content_type="application/vnd.trapd.telemetry+zstd;dict=1")
    assert parse_content_type(None).codec == "json"


def test_central_decodes_a_batch_and_dead_letters_only_its_bad_line():
    example = documented_example()
    other = encode_json(DetectionMessage.model_validate_json(example).model_copy(
        update={"id": "0193b2c4-5f6e-7a01-8c3d-2b9e4f1a7c56"}))
    foreign = example.replace(b'"station_id":"llnp-0412"', b'"station_id":"llnp-9999"')
    payload, content_type = WireEncoder().encode_batch([example, foreign, other])
    entries = decode_many(f"{PREFIX}/batch", payload, topic_root="camtrap/v1", content_type=content_type)
    assert [topic for topic, _, _ in entries] == [f"{PREFIX}/detections"] * 3
    assert [r.id for _, _, r in entries if isinstance(r, DetectionMessage)] == [
        "0193b2c4-5f6e-7a01-8c3d-2b9e4f1a7c55", "0193b2c4-5f6e-7a01-8c3d-2b9e4f1a7c56"]
    bad = entries[1]
    assert bad[1] == foreign and isinstance(bad[2], BadMessage) and "does not match the topic" in bad[2].reason
    with pytest.raises(BadMessage, match="is a batch but the topic says one message"):
        decode(f"{PREFIX}/detections", payload, topic_root="camtrap/v1", content_type=content_type)


def _row(n: int, kind: str = "detection", priority: int = 1) -> PendingMessage:
    if kind == "media":
        return PendingMessage(f"m{n:04d}", "media", priority, f"media/{n}", b"\xff\xd8jpeg", "image/jpeg")
    body = documented_example().replace(b"5f6e-7a01", f"5f6e-{n:04x}".encode())
    if kind == "telemetry":
        body = encode_json(TelemetryMessage(id=f"t{n}", station_id="llnp-0412", at="2026-11-28T04:00:00.000Z",
                                            uptime_s=1, disk_free_mb=1, disk_total_mb=2, outbox_pending=n,
                                            queue_depths={}, counters={}))
    return PendingMessage(f"r{n:04d}", kind, priority, kind + "s" if kind == "detection" else kind, body,
                          "application/json")


def test_framing_sends_one_message_alone_and_a_backlog_in_batches():
    wire = WireEncoder()
    alone = publishes([_row(1), _row(1, "media")], wire, room=32, batch_max=100)
    assert [(f.topic, f.message_ids) for f in alone] == [("detections", ("r0001",)), ("media/1", ("m0001",))]
    assert alone[0].content_type == "application/vnd.trapd.detection+zstd;dict=1"
    backlog = [row for n in range(250) for row in (_row(n), _row(n, "media"))] + [_row(999, "telemetry")]
    planned = publishes(backlog, wire, room=4, batch_max=100)
    assert [f.topic for f in planned] == ["batch", "media/0", "media/1", "media/2"]
    assert planned[0].message_ids == tuple(f"r{n:04d}" for n in range(100))
    lines = decode_payload(planned[0].payload, planned[0].content_type).split(b"\n")
    assert lines == [r.payload for r in backlog if r.kind == "detection"][:100]
    assert len(planned[0].payload) / 100 < 120  # bytes per detection in a batch of 100
    everything = publishes(backlog, wire, room=1000, batch_max=100)
    assert sorted(i for f in everything for i in f.message_ids) == sorted(r.message_id for r in backlog)
    assert [len(f.message_ids) for f in everything if f.topic == "batch"] == [100, 100, 51]


def test_batching_can_be_turned_off_and_json_batches_are_json_lines():
    rows = [_row(n) for n in range(3)]
    assert [f.topic for f in publishes(rows, WireEncoder(), room=10, batch_max=1)] == ["detections"] * 3
    batch = publishes(rows, WireEncoder("json"), room=10, batch_max=10)[0]
    assert batch.content_type == "application/jsonl"
    assert batch.payload.split(b"\n") == [r.payload for r in rows]
