"""LoRa figures: bytes per detection, detections per uplink per region and data rate, time on air,
how many such uplinks the regional budget allows per hour, and what the codec and packer cost in CPU.

Run: ``python -m tests.bench.bench_lora`` (``make bench`` runs every benchmark).
"""

from __future__ import annotations

import time
from typing import Any

from station.lora.airtime import uplink_time_on_air_s
from station.lora.budget import DutyCycleBudget
from station.lora.regions import REGIONS, Region
from station.wire.lora_codec import (
    DETECTION_SIZE,
    HEADER_SIZE,
    STATUS_SIZE,
    LoRaDetection,
    capacity,
    decode_uplink,
    pack_detections,
)

BASE = 1_700_000_000
# DR0 and DR5 as asked; CN470 DR0 is not usable, so DR1 is shown too (the slowest rate CN470 allows).
DATA_RATES = {"RU864": (0, 5), "CN470": (0, 1, 5)}


def uplink_row(region: Region, dr: int) -> dict[str, Any]:
    rate = region.data_rate(dr)
    row: dict[str, Any] = {"region": region.name, "dr": dr, "sf": rate.spreading_factor}
    if rate.max_payload is None:
        return {**row, "max_payload": None, "detections": 0, "payload": 0, "airtime_s": None, "per_hour": 0,
                "note": "not usable for uplinks"}
    fits = capacity(rate.max_payload)
    payload = HEADER_SIZE + DETECTION_SIZE * fits
    airtime = uplink_time_on_air_s(payload, rate)
    budget = DutyCycleBudget(region, clock=lambda: 0.0)
    return {**row, "max_payload": rate.max_payload, "detections": fits, "payload": payload,
            "airtime_s": airtime, "per_hour": int(budget.allowance_s // airtime),
            "status_airtime_s": uplink_time_on_air_s(STATUS_SIZE, rate), "note": ""}


def codec_cost(n: int = 2000) -> dict[str, float]:
    """Microseconds to pack (choose + encode) and to decode one full DR0 RU864 uplink."""
    detections = [LoRaDetection(i % 20, 80, 1, BASE + i) for i in range(40)]
    start = time.perf_counter()
    for _ in range(n):
        packed = pack_detections(detections, sequence=1, max_payload=51)
    pack_us = (time.perf_counter() - start) / n * 1e6
    start = time.perf_counter()
    for _ in range(n):
        decode_uplink(packed.payload)
    return {"pack_us": pack_us, "decode_us": (time.perf_counter() - start) / n * 1e6}


def run() -> dict[str, Any]:
    rows = [uplink_row(REGIONS[name], dr) for name, drs in DATA_RATES.items() for dr in drs]
    return {"bytes_per_detection": DETECTION_SIZE, "header_bytes": HEADER_SIZE, "status_bytes": STATUS_SIZE,
            "uplinks": rows, **codec_cost()}


def main() -> None:
    result = run()
    print(f"LoRa wire v1: {result['bytes_per_detection']} bytes per detection, "
          f"{result['header_bytes']}-byte header, status frame {result['status_bytes']} bytes")
    print(f"{'region':7} {'DR':>3} {'SF':>3} {'limit':>6} {'detections':>10} {'payload':>8} "
          f"{'time on air':>12} {'uplinks/h':>10}")
    for row in result["uplinks"]:
        airtime = "-" if row["airtime_s"] is None else f"{row['airtime_s'] * 1000:.1f} ms"
        limit = "-" if row["max_payload"] is None else row["max_payload"]
        print(f"{row['region']:7} {row['dr']:>3} {row['sf']:>3} {limit:>6} {row['detections']:>10} "
              f"{row['payload']:>8} {airtime:>12} {row['per_hour']:>10}  {row['note']}")
    print("uplinks/h = full uplinks within the default budget (RU864: 1 % = 36 s/h; CN470: 36 s/h)")
    print(f"codec cost: pack {result['pack_us']:.1f} us, decode {result['decode_us']:.1f} us per full DR0 uplink")


if __name__ == "__main__":
    main()
