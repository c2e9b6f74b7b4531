"""What a scenario emitted, keyed as the server keys it, and the odd pieces the scenario needs."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from station.central.individuals import Assignment
from station.central.population import crossings

if TYPE_CHECKING:
    from station.central.fleet_layout import SimStation


@dataclasses.dataclass(frozen=True)
class Fact:
    """One species seen in one sequence, as a full record or a LoRa summary carried it."""

    station_id: str
    country: str
    species: str
    species_code: int
    start_second: int
    observation_id: str | None
    individual: str | None
    source: str  # full | lora
    sequence_id: str | None

    @property
    def key(self) -> tuple[str, int, int]:
        return self.station_id, self.species_code, self.start_second


class Truth:
    """Accumulates the facts of every emitted publication."""

    def __init__(self) -> None:
        self.observations: dict[tuple[str, int, int], Fact] = {}
        self.sources: dict[tuple[str, int, int], set[str]] = {}
        self.sequences: set[str] = set()
        self.published: Counter[str] = Counter()
        self.lora_status = 0

    def observe(self, publication: Any) -> None:
        self.published[publication.kind] += 1
        if publication.kind == "lora" and not publication.facts:
            self.lora_status += 1
        for fact in publication.facts:
            self.sources.setdefault(fact.key, set()).add(fact.source)
            if fact.source == "full" or fact.key not in self.observations:
                self.observations[fact.key] = fact
            if fact.sequence_id:
                self.sequences.add(fact.sequence_id)

    @property
    def messages(self) -> int:
        return sum(self.published.values())

    def telemetry_rows(self) -> int:
        """Telemetry the server should hold: station messages plus LoRa status frames."""
        return self.published["telemetry"] + self.lora_status

    def detections(self) -> dict[tuple[str, str], int]:
        """(species, country) -> observations, blanks excluded."""
        counts: Counter[tuple[str, str]] = Counter()
        for fact in self.observations.values():
            if fact.species != "blank":
                counts[(fact.species, fact.country)] += 1
        return dict(counts)

    def joined(self) -> int:
        return sum(1 for sources in self.sources.values() if sources == {"full", "lora"})

    def lora_only(self) -> int:
        return sum(1 for sources in self.sources.values() if sources == {"lora"})

    def individual_paths(self) -> dict[str, list[str]]:
        seen = sorted((f.start_second, f.individual, f.country) for f in self.observations.values() if f.individual)
        paths: dict[str, list[str]] = {}
        for _, individual, country in seen:
            paths.setdefault(individual, []).append(country)
        return paths

    def crossings(self) -> dict[str, int]:
        return {individual: crossings(path) for individual, path in self.individual_paths().items()}

    def assignments(self) -> list[Assignment]:
        return [Assignment(f.observation_id, f.individual) for f in sorted(self.observations.values(),
                key=lambda f: f.start_second) if f.individual and f.observation_id]

    def summary(self) -> dict[str, Any]:
        return {"messages": self.messages, "published": dict(self.published), "sequences": len(self.sequences),
                "observations": len(self.observations), "joined_lora_and_full": self.joined(),
                "lora_only": self.lora_only(),
                "detections": {f"{s}/{c}": n for (s, c), n in sorted(self.detections().items())},
                "individual_paths": self.individual_paths(), "crossings": self.crossings()}


def placeholder_jpeg() -> bytes:
    """A small grey JPEG standing in for a thumbnail (the server stores thumbnails, it never decodes them)."""
    from PIL import Image

    image = Image.effect_noise((160, 90), 40).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=60)
    return buffer.getvalue()


def bad_messages(station: SimStation, root: str, application_id: str,
                 at: datetime) -> list[tuple[str, bytes, str | None]]:
    """One of each kind of message the server must dead-letter: (topic, payload, content type)."""
    base = f"{root}/{station.station_id}"
    lora = {"deduplicationId": "d-1", "time": at.isoformat(), "fPort": 10,
            "deviceInfo": {"devEui": "ffffffffffffffff", "deviceName": "stray", "tags": {}},
            "data": base64.b64encode(b"\x11\x00\x01\x00\x00\x00\x01\x02").decode()}
    unknown = {**lora, "deduplicationId": "d-2", "data": base64.b64encode(
        b"\x11\x00\x02" + int(at.timestamp()).to_bytes(4, "big") + b"\x02\xae\x20\x0c").decode()}
    return [
        (f"{base}/detections", b"{not json", "application/json"),
        (f"{base}/detections", json.dumps({"schema": "detection/2.0", "id": "x"}).encode(), "application/json"),
        (f"{base}/telemetry", json.dumps({"schema": "telemetry/1.0", "id": "x", "station_id": "other-station",
                                          "at": "2026-11-01T00:00:00Z"}).encode(), "application/json"),
        (f"{base}/media/not-a-uuid", b"\xff\xd8\xff", "image/jpeg"),
        ("application/x/device/ffffffffffffffff/event/up", json.dumps(lora).encode(), "application/json"),
        ("application/x/device/ffffffffffffffff/event/up", json.dumps(unknown).encode(), "application/json"),
    ]
