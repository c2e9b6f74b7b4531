"""The `transboundary-2014` scenario: the parks' joint camera-trap study, simulated so that its truth is the
published table of identified adults (cubs).

|                            | tigers  | leopards |
|----------------------------|---------|----------|
| China                      | 22 (4)  | 23 (1)   |
| Russia                     | 42 (7)  | 81 (13)  |
| observed in both countries | 19      | 15       |
| total                      | 45      | 89       |

Each animal gets a life history (species, sex, sightings in time order, each in a country and at a life
stage) built from that table and the study's findings: residents with ranges in both countries, one leopard
crossing the border 10 times, young animals dispersing from Russia to China, Chinese tigers further inland.
Sightings become detection messages from LLNP and TLNP stations (some first as LoRa summaries during an
outage, some delivered twice); each park then catalogues the animals it saw under its own codes, so an
animal seen on both sides has a Russian and a Chinese code until the experts merge them — except one
tiger, whose Chinese catalogue only notes the Russian code (a conflict the experts have not settled yet).
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from station.central.chirpstack import uplink_event, uplink_topic
from station.central.fleet_layout import BORDER_LONGITUDE, SimStation, make_stations
from station.central.scenario import APPLICATION_ID, Publication, uuid7_at
from station.vision.species import catalogue
from station.wire.ids import iso
from station.wire.lora_codec import DetectionFrame, lora_detection
from station.wire.messages import DetectionMessage, ModelRef, WireDetection, encode_json

TABLE = {  # species -> (CN adults, CN cubs, RU adults, RU cubs, both, total)
    "amur_tiger": (22, 4, 42, 7, 19, 45),
    "amur_leopard": (23, 1, 81, 13, 15, 89),
}
DISPERSERS = {"amur_tiger": 2, "amur_leopard": 4}  # cubs of Russia seen later as subadults in China
START = datetime(2014, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=3 * 365)
BORDER = [(42.4, BORDER_LONGITUDE), (43.2, BORDER_LONGITUDE + 0.01), (44.0, BORDER_LONGITUDE)]
PREFIX = {("RU", "amur_tiger"): "T", ("RU", "amur_leopard"): "L", ("CN", "amur_tiger"): "AT",
          ("CN", "amur_leopard"): "AL"}


@dataclasses.dataclass
class Life:
    animal: str  # the truth's own name for it
    species: str
    sex: str
    stops: list[tuple[str, str]]  # (country, life stage) per sighting, in time order
    codes: dict[str, str] = dataclasses.field(default_factory=dict)  # country -> national code
    sightings: list[tuple[datetime, SimStation, str]] = dataclasses.field(default_factory=list)  # (at, station, obs id)


def lives() -> list[Life]:
    """Every animal of the study, exactly as many of each kind as the table says."""
    out: list[Life] = []
    for species, (cn_adults, cn_cubs, ru_adults, ru_cubs, both, total) in TABLE.items():
        dispersers = DISPERSERS[species]
        kinds = ([[("RU", "adult"), ("CN", "adult"), ("RU", "adult")]] * both
                 + [[("RU", "adult"), ("RU", "adult")]] * (ru_adults - both)
                 + [[("RU", "juvenile"), ("CN", "subadult"), ("CN", "adult")]] * dispersers
                 + [[("CN", "adult"), ("CN", "adult")]] * (cn_adults - both - dispersers)
                 + [[("RU", "juvenile"), ("RU", "juvenile")]] * (ru_cubs - dispersers)
                 + [[("CN", "juvenile")]] * cn_cubs)
        assert len([k for k in kinds if any(stage != "juvenile" for _, stage in k)]) == total
        if species == "amur_leopard":  # the one that crossed ten times
            kinds[0] = [("RU" if i % 2 == 0 else "CN", "adult") for i in range(11)]
        for number, stops in enumerate(kinds, start=1):
            out.append(Life(f"{species}-{number:03d}", species, "female" if number % 3 else "male", list(stops)))
    return out


class Transboundary:
    """Stations, animals, messages, catalogues and merges of the scenario (deterministic)."""

    def __init__(self, *, stations_per_park: int = 40, seed: int = 2014) -> None:
        self.rng = random.Random(seed)
        self.stations = make_stations(2 * stations_per_park, start=START, span=SPAN, seed=seed, lora_share=0.5,
                                      outage_share=0.0)
        self.border = BORDER
        self.animals = lives()
        self.unmerged = next(a.animal for a in self.animals if a.species == "amur_tiger")  # left for the experts
        self._counter = 0
        self._place_sightings()

    def registry(self) -> list:
        return [s.entry for s in self.stations]

    def _stations_in(self, country: str, species: str) -> list[SimStation]:
        """Chinese tigers keep to stations inland (far columns); Russian tigers and all leopards near the border."""
        chosen = [s for s in self.stations if s.country == country]
        chosen.sort(key=lambda s: abs(s.entry.longitude - BORDER_LONGITUDE))
        half = max(1, len(chosen) // 2)
        return chosen[half:] if (country, species) == ("CN", "amur_tiger") else chosen[:half]

    def _place_sightings(self) -> None:
        used: set[tuple[str, str, int]] = set()  # the store's join key: one sequence per station, species, second
        for life in self.animals:
            moment = START + timedelta(days=self.rng.uniform(0, 200))
            for country, _stage in life.stops:
                station = self.rng.choice(self._stations_in(country, life.species))
                moment += timedelta(days=self.rng.uniform(10, 60), seconds=self.rng.randint(0, 86_399))
                while (station.station_id, life.species, int(moment.timestamp())) in used:
                    moment += timedelta(seconds=1)
                used.add((station.station_id, life.species, int(moment.timestamp())))
                life.sightings.append((moment, station, uuid7_at(moment + timedelta(seconds=20), self.rng)))

    # -- what the stations send -----------------------------------------------------------------------
    def publications(self) -> list[Publication]:
        out: list[Publication] = []
        for life in self.animals:
            for index, (at, station, observation_id) in enumerate(life.sightings):
                out += self._sighting(life, station, at, observation_id, lora_first=station.lora and index == 0)
        return sorted(out)

    def _sighting(self, life: Life, station: SimStation, at: datetime, observation_id: str, *,
                  lora_first: bool) -> list[Publication]:
        entry = catalogue()[life.species]
        end = at + timedelta(seconds=20)
        detection = WireDetection(observation_id=observation_id, species=life.species, species_code=entry.code,
                                  scientific_name=entry.latin or None, observation_type="animal",
                                  confidence=round(self.rng.uniform(0.6, 0.98), 4), count=None,
                                  frames_seen=3, best_media_id=uuid7_at(at + timedelta(seconds=2), self.rng))
        message = DetectionMessage(id=uuid7_at(end + timedelta(milliseconds=5), self.rng),
                                   station_id=station.station_id, deployment_id=f"{station.station_id}-2014",
                                   sequence_id=uuid7_at(at, self.rng), start=iso(at), end=iso(end), trigger="pir",
                                   frames=6, empty=False, detections=[detection],
                                   model=ModelRef(name="trapd-amur", version="1.2.0"))
        topic = f"camtrap/v1/{station.station_id}/detections"
        sent = end + timedelta(seconds=1)
        out = []
        if lora_first:  # the station's MQTT link was down: the LoRa summary arrives first, the record later
            frame = DetectionFrame(self._next(), int(at.timestamp()),
                                   (lora_detection(entry.code, detection.confidence, None, int(at.timestamp())),))
            event = uplink_event(frame=frame, dev_eui=station.entry.dev_eui or "", device_name=station.station_id,
                                 tags={"station_id": station.station_id, "park": station.entry.park},
                                 f_cnt=frame.sequence, received_at=sent, application_id=APPLICATION_ID,
                                 deduplication_id=str(uuid.UUID(int=self.rng.getrandbits(128))))
            out.append(self._pub(sent, uplink_topic(APPLICATION_ID, station.entry.dev_eui or ""),
                                 json.dumps(event).encode(), "lora"))
            sent += timedelta(hours=6)
        body = encode_json(message)
        out.append(self._pub(sent, topic, body, "detection"))
        if self.rng.random() < 0.05:  # delivered twice (at least once on the wire)
            out.append(self._pub(sent + timedelta(seconds=3), topic, body, "duplicate"))
        return out

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def _pub(self, at: datetime, topic: str, payload: bytes, kind: str) -> Publication:
        return Publication(at, self._next(), topic, payload, "application/json", kind)

    # -- what the parks' experts do -------------------------------------------------------------------
    def write_catalogues(self, folder: Path) -> dict[str, Path]:
        """One CSV per park: the animals it saw, under its own codes (assigned in order of first sighting)."""
        numbers: dict[tuple[str, str], int] = {}
        rows: dict[str, list[list[str]]] = {"RU": [], "CN": []}
        for life in sorted(self.animals, key=lambda a: a.sightings[0][0]):
            for (country, stage), (_, _station, observation_id) in zip(life.stops, life.sightings, strict=True):
                if country not in life.codes:
                    numbers[(country, life.species)] = numbers.get((country, life.species), 0) + 1
                    life.codes[country] = f"{PREFIX[(country, life.species)]}-{numbers[(country, life.species)]:03d}"
                other = ""
                if life.animal == self.unmerged and country == "CN":
                    other = f"RU:{life.codes['RU']}"  # China notes the Russian code instead of asking for a merge
                rows[country].append([life.codes[country], life.species, life.sex, observation_id, stage, other])
        paths = {}
        for country, lines in rows.items():
            path = folder / f"catalogue-{country}.csv"
            with path.open("w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(["code", "species", "sex", "observation_id", "life_stage", "other_codes"])
                writer.writerows(lines)
            paths[country] = path
        return paths

    def merges(self) -> list[tuple[str, str]]:
        """(keep, other): the experts' decisions that a Russian and a Chinese code are one animal."""
        return [(f"RU:{life.codes['RU']}", f"CN:{life.codes['CN']}") for life in self.animals
                if {"RU", "CN"} <= set(life.codes) and life.animal != self.unmerged]

    def truth(self) -> dict[str, Any]:
        table = {species: {"CN": {"adults": row[0], "cubs": row[1]}, "RU": {"adults": row[2], "cubs": row[3]},
                           "both": row[4], "total": row[5]} for species, row in TABLE.items()}
        most = {s: max(sum(1 for a, b in itertools.pairwise(life.stops) if a[0] != b[0])
                       for life in self.animals if life.species == s) for s in TABLE}
        return {"individuals": table, "max_crossings": most,
                "dispersal": {s: {"RU->CN": n} for s, n in DISPERSERS.items()}}
