"""Small builders shared by the central tests."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from station.central.chirpstack import LoRaUplink
from station.central.scenario import uuid7_at
from station.vision.species import catalogue
from station.wire.ids import iso
from station.wire.lora_codec import DetectionFrame, lora_detection
from station.wire.messages import DetectionMessage, ModelRef, WireDetection

AT = datetime(2026, 11, 1, 5, 30, 7, 250000, tzinfo=UTC)


def detection(station_id: str, species: list[str], at: datetime = AT, *, seed: int = 1) -> DetectionMessage:
    rng = random.Random(seed)
    items = []
    for key in species:
        entry = catalogue()[key]
        items.append(WireDetection(observation_id=uuid7_at(at, rng), species=key, species_code=entry.code,
                                   scientific_name=entry.latin or None,
                                   observation_type=entry.kind if entry.kind != "unknown" else "unknown",
                                   confidence=0.91, count=None, frames_seen=3, best_media_id=uuid7_at(at, rng)))
    return DetectionMessage(id=uuid7_at(at + timedelta(seconds=5), rng), station_id=station_id,
                            deployment_id=f"{station_id}-dep", sequence_id=uuid7_at(at, rng), start=iso(at),
                            end=iso(at + timedelta(seconds=4)), trigger="pir", frames=6, empty=not items,
                            detections=items, model=ModelRef(name="m", version="1"))


def lora_summary(station_id: str, message: DetectionMessage, *, sequence: int = 1,
                 uplink_id: str = "uplink-1") -> LoRaUplink:
    start = int(datetime.fromisoformat(message.start.replace("Z", "+00:00")).timestamp())
    frame = DetectionFrame(sequence, start, tuple(lora_detection(d.species_code, d.confidence, d.count, start)
                                                  for d in message.detections))
    from station.wire.lora_codec import encode_detections

    return LoRaUplink(uplink_id, "70b3d57ed0000001", station_id, station_id, sequence, AT + timedelta(minutes=1),
                      encode_detections(frame), frame)
