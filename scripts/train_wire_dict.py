"""Train the zstd dictionary of the MQTT wire (docs/wire.md) from the project's own fleet simulator.

Deterministic: the samples come from a seeded fleet scenario (station/central/scenario.py) built with the
station's wire models, plus command results for every command; the training parameters are fixed. Running it
again with the same zstandard gives the same bytes, which a test checks against the committed dictionary
and the sha256 in docs/wire.md.

    .venv/bin/python scripts/train_wire_dict.py            # rewrites station/wire/trapd-wire-1.zdict
    .venv/bin/python scripts/train_wire_dict.py --out x    # writes elsewhere (the test does this)

A new dictionary is a new version: bump DICT_VERSION here and in station/wire/encoding.py, keep the old
file (stations in the field still use it), and say so in docs/wire.md.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
from pathlib import Path

import zstandard

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from station.central.scenario import FleetPlan, Scenario, uuid7_at  # noqa: E402
from station.wire.encoding import DICT_VERSION, dict_id  # noqa: E402
from station.wire.ids import iso  # noqa: E402
from station.wire.messages import CommandResult, encode_json  # noqa: E402

DICT_SIZE = 4096
TRAINING_SEED = 1
COVER_K, COVER_D = 200, 8
SAMPLES = {"detection": 600, "telemetry": 300, "status": 40, "cmd_result": 60}


def command_results(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    plan = FleetPlan(stations=1, hours=1)
    replies: list[tuple[str, bool, dict[str, object], str | None]] = [  # (command, ok, result, error)
               ("capture", True, {"queued": True}, None),
               ("status", True, {"status": "published", "telemetry": "queued"}, None),
               ("telemetry", True, {"telemetry": "queued"}, None),
               ("config_set", True, {"key": "capture.burst_frames", "value": 5, "persisted": "/etc/trapd/station.toml",
                                     "applied": True, "restart_required": False}, None),
               ("send_media", False, {}, "no media 0193b2c4-5b77-7e01-8f00-112233445566 on this station"),
               ("model_reload", True, {"model": "trapd-amur 1.2.0"}, None)]
    out = []
    for n in range(count):
        name, ok, result, error = replies[n % len(replies)]
        at = plan.start.replace(hour=n % 24, minute=rng.randrange(60))
        out.append(encode_json(CommandResult(id=uuid7_at(at, rng), station_id=f"llnp-{rng.randrange(10000):04d}",
                                             request_id=f"ops-{iso(at)[:10]}-{n:04d}", command=name, ok=ok,
                                             result=result, error=error)))
    return out


def samples(seed: int = TRAINING_SEED) -> dict[str, list[bytes]]:
    """Wire messages (compact JSON) by kind, from a seeded fleet of 20 stations over two days."""
    scenario = Scenario(FleetPlan(stations=20, hours=48, seed=seed, thumbnails=False, lora_share=0.0,
                                  outage_share=0.0, duplicate_share=0.0))
    found: dict[str, list[bytes]] = {kind: [] for kind in SAMPLES}
    for publication in scenario.publications():
        if publication.kind in found and len(found[publication.kind]) < SAMPLES[publication.kind]:
            found[publication.kind].append(publication.payload)
    found["cmd_result"] = command_results(SAMPLES["cmd_result"], seed)
    return found


def train(seed: int = TRAINING_SEED) -> bytes:
    by_kind = samples(seed)
    corpus: list[bytes | bytearray | memoryview] = [message for kind in SAMPLES for message in by_kind[kind]]
    trained = zstandard.train_dictionary(DICT_SIZE, corpus, k=COVER_K, d=COVER_D, dict_id=dict_id(DICT_VERSION),
                                         threads=0)
    return trained.as_bytes()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "station" / "wire" / f"trapd-wire-{DICT_VERSION}.zdict",
                        help="where to write the dictionary")
    args = parser.parse_args()
    data = train()
    args.out.write_bytes(data)
    print(f"{args.out}: {len(data)} bytes, dict id {dict_id(DICT_VERSION)}, sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
