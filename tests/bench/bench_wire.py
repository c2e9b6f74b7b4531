"""MQTT payload bytes per encoding, side by side, and the station CPU each one costs per message.

Messages are the documented example (docs/wire.md) and held-out messages of the fleet simulator (a seed the
wire dictionary was not trained on). Encodings: compact JSON, CBOR, msgpack, zlib-9, zstd-19 without a
dictionary, zstd with the shipped dictionary (levels 3, 9, 19), CBOR + a zstd dictionary trained the same
way on CBOR, typed CBOR (UUIDs as 16 bytes, times as epoch milliseconds) alone and with such a dictionary.
Then batches: bytes per detection when a backlog of 1, 10, 100 detections goes as one message.

Run: ``python -m tests.bench.bench_wire`` (``make bench`` runs every benchmark).
"""

from __future__ import annotations

import importlib.util
import json
import re
import statistics
import time
import uuid
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import cbor2
import msgpack
import zstandard

from station.wire.encoding import WireEncoder, decode_payload

ROOT = Path(__file__).resolve().parents[2]
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
HELD_OUT_SEED = 2


def trainer():
    """The committed training script as a module (its samples and parameters)."""
    spec = importlib.util.spec_from_file_location("train_wire_dict", ROOT / "scripts" / "train_wire_dict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def documented_example() -> bytes:
    text = (ROOT / "docs" / "wire.md").read_text(encoding="utf-8")
    return re.search(r"<!-- detection-example -->\n```json\n(.+?)\n```", text, re.S).group(1).encode("utf-8")


def typed(value: Any) -> Any:
    """Typed CBOR values, by shape not by field name: UUIDs as tag 37 bytes, RFC 3339 times as epoch ms."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [typed(item) for item in value]
    if isinstance(value, str) and UUID_RE.match(value):
        return uuid.UUID(value)
    if isinstance(value, str) and TIME_RE.match(value):
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    return value


def encoders(training: list[bytes]) -> dict[str, Callable[[bytes], bytes]]:
    station_dict = {level: WireEncoder(level=level) for level in (3, 9, 19)}
    cbor_dict = zstandard.train_dictionary(4096, [cbor2.dumps(json.loads(m)) for m in training], k=200, d=8)
    typed_dict = zstandard.train_dictionary(4096, [cbor2.dumps(typed(json.loads(m))) for m in training], k=200,
                                            d=8)
    cbor_z = zstandard.ZstdCompressor(level=19, dict_data=cbor_dict, write_checksum=False)
    typed_z = zstandard.ZstdCompressor(level=19, dict_data=typed_dict, write_checksum=False)
    plain_z = zstandard.ZstdCompressor(level=19, write_checksum=False)
    return {
        "json": lambda m: m,
        "cbor": lambda m: cbor2.dumps(json.loads(m)),
        "msgpack": lambda m: msgpack.packb(json.loads(m)),
        "zlib-9": lambda m: zlib.compress(m, 9),
        "zstd-19": plain_z.compress,
        "zstd-3+dict": lambda m: station_dict[3].encode("detection", m)[0],
        "zstd-9+dict (default)": lambda m: station_dict[9].encode("detection", m)[0],
        "zstd-19+dict": lambda m: station_dict[19].encode("detection", m)[0],
        "cbor+zstd-dict": lambda m: cbor_z.compress(cbor2.dumps(json.loads(m))),
        "typed-cbor": lambda m: cbor2.dumps(typed(json.loads(m))),
        "typed-cbor+zstd-dict": lambda m: typed_z.compress(cbor2.dumps(typed(json.loads(m)))),
    }


def cpu_us(encode: Callable[[bytes], bytes], messages: list[bytes], rounds: int = 5) -> float:
    """Process CPU time per message, median of a few rounds."""
    runs = []
    for _ in range(rounds):
        began = time.process_time()
        for message in messages:
            encode(message)
        runs.append((time.process_time() - began) / len(messages) * 1e6)
    return round(statistics.median(runs), 1)


def batches(detections: list[bytes]) -> list[dict[str, Any]]:
    rows = []
    for encoding, level in (("json", 0), ("zstd-dict", 9), ("zstd-dict", 19)):
        encoder = WireEncoder(encoding, level=level)
        for backlog in (1, 10, 100):
            chunk = detections[:backlog]
            if backlog == 1:
                payload, content_type = encoder.encode("detection", chunk[0])
            else:
                payload, content_type = encoder.encode_batch(chunk)
                assert decode_payload(payload, content_type).split(b"\n") == chunk
            batch_us = cpu_us(lambda _, encoder=encoder, chunk=chunk: encoder.encode_batch(chunk), [b""], 3)
            rows.append({"encoding": f"{encoding}-{level}" if level else encoding, "backlog": backlog,
                         "payload_bytes": len(payload), "bytes_per_detection": round(len(payload) / backlog, 1),
                         "cpu_us_per_detection": round(batch_us / backlog, 1)})
    return rows


def run() -> dict[str, Any]:
    train = trainer()
    training = [m for kind, items in train.samples().items() if kind != "cmd_result" for m in items]
    held = train.samples(HELD_OUT_SEED)
    one_species = [m for m in held["detection"] if m.count(b'"observation_id"') == 1][:200]
    telemetry = held["telemetry"][:200]
    example = documented_example()
    table = []
    for name, encode in encoders(training).items():
        table.append({"encoding": name, "example_bytes": len(encode(example)),
                      "held_out_detection_mean": round(statistics.mean(len(encode(m)) for m in one_species), 1),
                      "held_out_telemetry_mean": round(statistics.mean(len(encode(m)) for m in telemetry), 1),
                      "cpu_us_per_detection": cpu_us(encode, one_species[:100])})
    decoder = WireEncoder()
    wire = [decoder.encode("detection", m) for m in one_species[:100]]
    decode_us = cpu_us(lambda pair: decode_payload(*pair), wire)  # type: ignore[arg-type]
    return {"encodings": table, "default_decode_us": decode_us,
            "batches": batches(held["detection"][:100])}


if __name__ == "__main__":
    result = run()
    width = max(len(r["encoding"]) for r in result["encodings"])
    print(f"{'encoding':<{width}}  example  detection(mean)  telemetry(mean)  cpu us/msg")
    for row in result["encodings"]:
        print(f"{row['encoding']:<{width}}  {row['example_bytes']:>7}  {row['held_out_detection_mean']:>15}  "
              f"{row['held_out_telemetry_mean']:>15}  {row['cpu_us_per_detection']:>10}")
    print(f"default decode (central side): {result['default_decode_us']} us/msg")
    print("batch: encoding backlog bytes bytes/detection cpu-us/detection")
    for row in result["batches"]:
        print(f"  {row['encoding']:<12} {row['backlog']:>4} {row['payload_bytes']:>6} {row['bytes_per_detection']:>7}"
              f" {row['cpu_us_per_detection']:>7}")
