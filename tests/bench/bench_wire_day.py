"""Bytes per station per day over MQTT, from the fleet simulator's model, with the station's real encoders.

The day's traffic is the fleet scenario (station/central/scenario.py: sequences in dawn/dusk/night bursts,
the species mix, one thumbnail per species seen, telemetry every 900 s, the station default): a typical
day (12 sequences, the simulator's default) and a busy day (100 sequences, e.g. a trail in the rut or a
windy day of blank triggers). Every message is re-encoded as a station would send it (``WireEncoder``,
``make_thumbnail`` on real camera-trap photos where /work/shared has them, simulated frames otherwise) and
counted as a whole MQTT 5 PUBLISH plus its PUBACK, with keepalive pings (60 s, the default, and 600 s). The link
figure adds an estimate of TLS 1.2 (AES-GCM, 29 B a record) and TCP/IPv4 with timestamps (52 B a segment):
one record and one segment each way per exchange, plus one bare ACK.

Run: ``python -m tests.bench.bench_wire_day`` (``make bench`` runs every benchmark).
"""

from __future__ import annotations

import itertools
from typing import Any

from PIL import Image

from station.central.scenario import FleetPlan, Scenario
from station.hardware.scenes import SUBJECTS, Scene, render
from station.pipeline.thumbnail import CONTENT_TYPES, make_thumbnail, scaled
from station.wire.encoding import WireEncoder
from tests.bench.bench_thumbnail import real_images

STATIONS = 20
DAYS = {"typical": 12.0, "busy": 100.0}
KEEPALIVES = (60, 600)  # the default mqtt.keepalive_s, and a setting for metered links
LINK_PER_EXCHANGE = 2 * (29 + 52) + 52  # a record and a segment each way, and one bare ACK
PUBACK = 4
PING = 2 + 2


def varint_len(value: int) -> int:
    return 1 if value < 128 else 2 if value < 16_384 else 3 if value < 2_097_152 else 4


def publish_bytes(topic: str, payload: bytes, content_type: str) -> int:
    """An MQTT 5 QoS 1 PUBLISH with a content-type property."""
    props = 1 + 2 + len(content_type.encode())
    remaining = 2 + len(topic.encode()) + 2 + varint_len(props) + props + len(payload)
    return 1 + varint_len(remaining) + remaining


def thumbnail_sources() -> tuple[str, list[Image.Image]]:
    real = real_images(32)
    if real:
        return "real-camtrap-dev photos", real
    scenes = [Scene(subject=s, night=i % 2 == 1, seed=300 + i) for i, s in enumerate(SUBJECTS * 2)]
    return "simulated frames", [scaled(Image.fromarray(render(sc, (1280, 720), 1)), 640) for sc in scenes]


def day(events: float, encoding: str, fmt: str, images: list[Image.Image]) -> dict[str, Any]:
    scenario = Scenario(FleetPlan(stations=STATIONS, hours=24, seed=11, events_per_day=events,
                                  telemetry_interval_s=900.0, lora_share=0.0, outage_share=0.0,
                                  duplicate_share=0.0, thumbnails=True))
    wire = WireEncoder(encoding)
    pictures = itertools.cycle(images)
    thumbs: dict[int, bytes] = {}
    totals = {"messages": 0, "detections": 0, "thumbnails": 0, "json_bytes": 0, "thumbnail_bytes": 0, "mqtt": 0,
              "publishes": 0}
    for publication in scenario.publications():
        if publication.topic.startswith("application/"):
            continue
        if publication.kind == "thumbnail":
            index = totals["thumbnails"] % len(images)
            if index not in thumbs:
                thumbs[index] = make_thumbnail(next(pictures), width=320, max_bytes=12_000, fmt=fmt)
            payload, content_type = thumbs[index], CONTENT_TYPES[fmt]
            totals["thumbnails"] += 1
            totals["thumbnail_bytes"] += publish_bytes(publication.topic, payload, content_type) + PUBACK
        else:
            payload, content_type = wire.encode(publication.kind, publication.payload)
            totals["messages"] += 1
            totals["detections"] += publication.kind == "detection"
            totals["json_bytes"] += publish_bytes(publication.topic, payload, content_type) + PUBACK
        totals["publishes"] += 1
    out = {"sequences": round(totals["detections"] / STATIONS, 1),
           "thumbnails": round(totals["thumbnails"] / STATIONS, 1),
           "messages": round(totals["messages"] / STATIONS, 1)}
    for keepalive in KEEPALIVES:
        out.update(daily(totals, keepalive))
    return out


def daily(totals: dict[str, int], keepalive: int) -> dict[str, int]:
    """Per station: MQTT bytes (packets) and link bytes (with the TLS and TCP/IP estimate)."""
    pings = 86_400 // keepalive
    data = totals["json_bytes"] / STATIONS + pings * PING
    thumbs = totals["thumbnail_bytes"] / STATIONS
    exchanges = totals["publishes"] / STATIONS + pings
    thumb_exchanges = totals["thumbnails"] / STATIONS
    segments = thumbs / 1400 * 52  # a thumbnail spans several TCP segments
    suffix = f"_keepalive_{keepalive}"
    return {"mqtt_without_thumbnails" + suffix: round(data), "mqtt_with_thumbnails" + suffix: round(data + thumbs),
            "link_without_thumbnails" + suffix: round(data + (exchanges - thumb_exchanges) * LINK_PER_EXCHANGE),
            "link_with_thumbnails" + suffix: round(data + thumbs + exchanges * LINK_PER_EXCHANGE + segments)}


def run() -> dict[str, Any]:
    source, images = thumbnail_sources()
    out: dict[str, Any] = {"stations": STATIONS, "thumbnail_source": source, "days": []}
    for name, events in DAYS.items():
        for encoding, fmt in (("zstd-dict", "webp"), ("json", "jpeg")):
            out["days"].append({"day": name, "encoding": encoding, "thumbnail_format": fmt,
                                **day(events, encoding, fmt, images)})
    return out


if __name__ == "__main__":
    result = run()
    print(f"{result['stations']} stations, thumbnails from {result['thumbnail_source']}")
    for row in result["days"]:
        print(row)
