"""A deterministic fleet scenario: what N stations publish over H hours, and the truth it implies.

Traffic follows what real stations do: sequences in bursts at dawn and dusk (and at night, for the
cats), telemetry every few minutes, thumbnails after their detection, MQTT outages during which LoRa
stations summarise people and big cats through the network server (ChirpStack-style events) and after
which the backlog floods in priority order, occasional duplicate deliveries, and — when asked — bad
messages. Messages are built with the station's own wire models and LoRa codec.

The truth is accumulated from what is actually emitted (a record still held back when the run ends does
not count), keyed like the server keys it: (station, species code, sequence start second).
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
import itertools
import json
import math
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from station.central.chirpstack import uplink_event, uplink_topic
from station.central.fleet_layout import (
    PlannedSighting,
    SimStation,
    make_stations,
    plan_sightings,
    protected_zones,
    settlements_for,
)
from station.central.scenario_truth import Fact, Truth
from station.vision.species import catalogue
from station.wire.ids import iso
from station.wire.lora_codec import DetectionFrame, StatusFrame, lora_detection
from station.wire.messages import DetectionMessage, ModelRef, TelemetryMessage, WireDetection, encode_json

APPLICATION_ID = "5b0a7c3e-2f41-4f8e-9d5a-0c6f1e2d3b4a"
#: What a simulated station decides with (detection/1.1 names both): the bundled detector, then a park's classifier
DETECTOR = ModelRef(name="megadetector-lite-yolox-tiny-640", version="2022.05.28")
CLASSIFIER = ModelRef(name="trapd-amur", version="1.2.0")
LORA_GRACE_S = 60.0
SPECIES_MIX = {"roe_deer": 20, "sika_deer": 15, "wild_boar": 15, "asian_badger": 6, "raccoon_dog": 6,
               "leopard_cat": 5, "red_fox": 4, "manchurian_hare": 5, "amur_leopard": 4, "amur_tiger": 3,
               "human": 6, "vehicle": 2, "blank": 9}


@dataclasses.dataclass(frozen=True)
class FleetPlan:
    stations: int
    hours: float
    start: datetime = datetime(2026, 11, 1, tzinfo=UTC)
    seed: int = 7
    events_per_day: float = 12.0
    telemetry_interval_s: float = 300.0
    lora_share: float = 0.5
    outage_share: float = 0.25
    duplicate_share: float = 0.02
    thumbnails: bool = True
    bad_messages: int = 0
    topic_root: str = "camtrap/v1"


@dataclasses.dataclass(frozen=True, order=True)
class Publication:
    at: datetime
    order: int
    topic: str = dataclasses.field(compare=False)
    payload: bytes = dataclasses.field(compare=False, repr=False)
    content_type: str | None = dataclasses.field(compare=False)
    kind: str = dataclasses.field(compare=False)
    facts: tuple[Fact, ...] = dataclasses.field(compare=False, default=())
    retain: bool = dataclasses.field(compare=False, default=False)


def uuid7_at(moment: datetime, rng: random.Random) -> str:
    """A UUIDv7 carrying ``moment`` (the station makes its ids when things happen)."""
    millis = int(moment.timestamp() * 1000) & ((1 << 48) - 1)
    value = millis << 80 | 0x7 << 76 | rng.getrandbits(12) << 64 | 0b10 << 62 | rng.getrandbits(62)
    return str(uuid.UUID(int=value))


def activity(local_hour: float) -> float:
    """Relative camera-trap activity by local hour: peaks at dawn (05-07) and dusk (18-20), more at night."""
    dawn = math.exp(-((local_hour - 6.0) ** 2) / 1.5)
    dusk = math.exp(-((local_hour - 19.0) ** 2) / 1.5)
    night = 0.6 if local_hour < 5 or local_hour > 21 else 0.25
    return night + 2.5 * (dawn + dusk)


@functools.cache
def mean_activity() -> float:
    return sum(activity(h / 4) for h in range(96)) / 96


def poisson(rng: random.Random, mean: float) -> int:
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


class Scenario:
    def __init__(self, plan: FleetPlan) -> None:
        self.plan = plan
        self.span = timedelta(hours=plan.hours)
        self.end = plan.start + self.span
        self.stations: list[SimStation] = make_stations(plan.stations, start=plan.start, span=self.span,
                                                        seed=plan.seed, lora_share=plan.lora_share,
                                                        outage_share=plan.outage_share)
        self.settlements = settlements_for(self.stations)
        self.zones = protected_zones()
        self.truth = Truth()
        self._planned = plan_sightings(self.stations, start=plan.start, span=self.span)
        self._order = itertools.count()
        self._lora_counters: dict[int, int] = {}
        self._thumbnail: bytes | None = None

    def registry(self) -> list:
        return [s.entry for s in self.stations]

    # -- the stream -------------------------------------------------------------------------------------------
    def publications(self) -> Iterator[Publication]:
        """Every publication in time order; the truth is complete once this is exhausted."""
        held: list[Publication] = [self._status(s, self.plan.start, "online") for s in self.stations]
        heapq.heapify(held)
        slices = max(1, math.ceil(self.plan.hours))
        for index in range(slices):
            low = self.plan.start + timedelta(hours=index)
            high = min(self.end, low + timedelta(hours=1))
            for station in self.stations:
                for publication in self._station_slice(station, low, high):
                    heapq.heappush(held, publication)
            while held and held[0].at < high:
                yield self._emit(heapq.heappop(held))
        while held and held[0].at <= self.end:
            yield self._emit(heapq.heappop(held))
        for bad in self._bad_messages():
            yield self._emit(bad)

    def _emit(self, publication: Publication) -> Publication:
        self.truth.observe(publication)
        return publication

    def _station_slice(self, station: SimStation, low: datetime, high: datetime) -> list[Publication]:
        rng = random.Random(f"{self.plan.seed}:{station.index}:{low.isoformat()}")
        out = self._telemetry_slice(station, low, high, rng) + self._status_changes(station, low, high)
        seconds = (high - low).total_seconds()
        local_hour = (low.hour + low.minute / 60 + station.entry.longitude / 15) % 24
        mean = self.plan.events_per_day / 24 * activity(local_hour) / mean_activity() * seconds / 3600
        for _ in range(poisson(rng, mean)):
            species = _pick_species(rng)
            at = low + timedelta(seconds=rng.uniform(0, seconds))
            out += self._event(station, at, species, rng, individual=None)
        for planned in self._planned:
            if planned.station_index == station.index and low <= planned.at < high:
                out += self._event(station, planned.at, [planned.species], rng, individual=planned.individual_id)
        return out

    # -- one sequence -----------------------------------------------------------------------------------------
    def _event(self, station: SimStation, start: datetime, species: list[str], rng: random.Random, *,
               individual: str | None) -> list[Publication]:
        start = start.replace(microsecond=(start.microsecond // 1000) * 1000)
        end = start + timedelta(seconds=rng.uniform(1.5, 40.0))
        message, media_ids = self._detection_message(station, start, end, species, rng)
        second = int(start.timestamp())
        facts = tuple(Fact(station.station_id, station.country, d.species, d.species_code, second,
                           d.observation_id, individual, "full", message.sequence_id) for d in message.detections)
        if message.empty:
            facts = (Fact(station.station_id, station.country, "blank", 0, second, None, None, "full",
                          message.sequence_id),)
        priority = min((catalogue()[k].priority for k in species), default=2)
        sent = self._send_time(station, end + timedelta(seconds=1), priority)
        topic = f"{self.plan.topic_root}/{station.station_id}"
        out = [self._pub(sent, f"{topic}/detections", encode_json(message), "application/json", "detection", facts)]
        if rng.random() < self.plan.duplicate_share:
            out.append(self._pub(sent + timedelta(seconds=2), f"{topic}/detections", encode_json(message),
                                 "application/json", "duplicate"))
        if self.plan.thumbnails:
            for media_id in media_ids:
                out.append(self._pub(sent + timedelta(milliseconds=1), f"{topic}/media/{media_id}",
                                     self.thumbnail(), "image/jpeg", "thumbnail"))
        if station.lora and station.offline(end) and priority == 0:
            out += self._lora_summary(station, message, end, rng)
        return out

    def _detection_message(self, station: SimStation, start: datetime, end: datetime, species: list[str],
                           rng: random.Random) -> tuple[DetectionMessage, list[str]]:
        detections, media_ids = [], []
        for key in species:
            if key == "blank":
                continue
            entry = catalogue()[key]
            media_id = uuid7_at(start + timedelta(milliseconds=rng.randint(0, 900)), rng)
            media_ids.append(media_id)
            kind = entry.kind if entry.kind in ("animal", "human", "vehicle") else "unknown"
            width, height = round(rng.uniform(0.05, 0.6), 4), round(rng.uniform(0.05, 0.6), 4)
            detections.append(WireDetection(
                observation_id=uuid7_at(end, rng), species=key, species_code=entry.code,
                scientific_name=entry.latin or None, observation_type=kind,
                confidence=round(rng.uniform(0.55, 0.99), 4), count=2 if key == "human" and rng.random() < 0.3
                else 1, frames_seen=rng.randint(1, 6), best_media_id=media_id,
                box=[round(rng.uniform(0, 1 - width), 4), round(rng.uniform(0, 1 - height), 4), width, height]))
        message = DetectionMessage(
            id=uuid7_at(end + timedelta(milliseconds=5), rng), station_id=station.station_id,
            deployment_id=f"{station.station_id}-2026b", sequence_id=uuid7_at(start, rng), start=iso(start),
            end=iso(end), trigger="pir", frames=rng.randint(3, 15), empty=not detections, detections=detections,
            model=DETECTOR, models=[DETECTOR, CLASSIFIER])
        return message, media_ids

    def _send_time(self, station: SimStation, ready: datetime, priority: int) -> datetime:
        """When the station's outbox gets a message out: now, or in priority order when MQTT comes back."""
        if station.outage is None or not station.offline(ready):
            return ready
        begin, back = station.outage
        fraction = (ready - begin) / (back - begin)
        return back + timedelta(seconds=priority * 0.5 + 0.4 * fraction)

    def _lora_summary(self, station: SimStation, message: DetectionMessage, end: datetime,
                      rng: random.Random) -> list[Publication]:
        sent = end + timedelta(seconds=LORA_GRACE_S + rng.uniform(0.5, 3.0))
        if not station.offline(sent):
            return []  # MQTT came back first: the full record goes, no summary
        start = int(datetime.fromisoformat(message.start.replace("Z", "+00:00")).timestamp())
        items = [lora_detection(d.species_code, d.confidence, d.count, start) for d in message.detections
                 if catalogue()[d.species].priority == 0]
        frame = DetectionFrame(self._next_lora(station), start, tuple(items))
        facts = tuple(Fact(station.station_id, station.country, d.species, d.species_code, start, None, None, "lora",
                           None) for d in message.detections if catalogue()[d.species].priority == 0)
        return [self._lora_pub(station, frame, sent, rng, facts)]

    def _lora_pub(self, station: SimStation, frame, sent: datetime, rng: random.Random,
                  facts: tuple[Fact, ...] = ()) -> Publication:
        dev_eui = station.entry.dev_eui
        if dev_eui is None:
            raise ValueError(f"{station.station_id}: a LoRa station of the scenario needs a DevEUI")
        event = uplink_event(frame=frame, dev_eui=dev_eui, device_name=station.station_id,
                             tags={"station_id": station.station_id, "park": station.entry.park},
                             f_cnt=frame.sequence, received_at=sent, deduplication_id=str(uuid.UUID(
                                 int=rng.getrandbits(128))), application_id=APPLICATION_ID)
        return self._pub(sent, uplink_topic(APPLICATION_ID, dev_eui), json.dumps(event).encode(),
                         "application/json", "lora", facts)

    def _next_lora(self, station: SimStation) -> int:
        value = self._lora_counters.get(station.index, -1) + 1
        self._lora_counters[station.index] = value & 0xFFFF
        return value & 0xFFFF

    # -- telemetry and status ---------------------------------------------------------------------------------
    def _telemetry_slice(self, station: SimStation, low: datetime, high: datetime,
                         rng: random.Random) -> list[Publication]:
        interval = self.plan.telemetry_interval_s
        offset = (low - self.plan.start).total_seconds() - station.phase_s
        tick = math.ceil(offset / interval) if offset > 0 else 0
        out = []
        while (at := self.plan.start + timedelta(seconds=station.phase_s + tick * interval)) < high:
            tick += 1
            if at < low:
                continue
            message = TelemetryMessage(id=uuid7_at(at, rng), station_id=station.station_id, at=iso(at),
                                       uptime_s=round((at - self.plan.start).total_seconds(), 1),
                                       battery_mv=rng.randint(11_600, 12_900), solar_mv=rng.randint(0, 18_000),
                                       temperature_c=round(rng.uniform(-28, 2), 1), disk_free_mb=rng.randint(
                                           20_000, 60_000), disk_total_mb=62_000, outbox_pending=0,
                                       queue_depths={"triggers": 0, "frames": 0}, counters={"frames": tick * 9})
            out.append(self._pub(self._send_time(station, at, 3), f"{self.plan.topic_root}/{station.station_id}"
                                 f"/telemetry", encode_json(message), "application/json", "telemetry"))
            lora_due = station.lora and station.offline(at) and tick % max(1, round(3600 / interval)) == 0
            if lora_due and message.battery_mv is not None:  # always measured here
                frame = StatusFrame.measured(sequence=self._next_lora(station), time=int(at.timestamp()),
                                             battery_mv=message.battery_mv, storage_used_pct=40,
                                             temperature_c=message.temperature_c, queue_depth=tick, reset_cause=1)
                out.append(self._lora_pub(station, frame, at + timedelta(seconds=2), rng))
        return out

    def _status(self, station: SimStation, at: datetime, state: str) -> Publication:
        body = json.dumps({"schema": "status/1.0", "id": uuid7_at(at, random.Random(f"{station.index}{at}")),
                           "station_id": station.station_id, "state": state, "at": iso(at), "software": "0.1.0",
                           "model": {"name": "trapd-amur", "version": "1.2.0"}}, separators=(",", ":")).encode()
        return self._pub(at, f"{self.plan.topic_root}/{station.station_id}/status", body, "application/json",
                         "status", retain=True)

    def _status_changes(self, station: SimStation, low: datetime, high: datetime) -> list[Publication]:
        if station.outage is None:
            return []
        begin, back = station.outage
        return [self._status(station, moment, state) for moment, state in ((begin, "offline"), (back, "online"))
                if low <= moment < high]

    # -- helpers ----------------------------------------------------------------------------------------------
    def _pub(self, at: datetime, topic: str, payload: bytes, content_type: str | None, kind: str,
             facts: tuple[Fact, ...] = (), retain: bool = False) -> Publication:
        return Publication(at, next(self._order), topic, payload, content_type, kind, facts, retain)

    def thumbnail(self) -> bytes:
        if self._thumbnail is None:
            from station.central.scenario_truth import placeholder_jpeg

            self._thumbnail = placeholder_jpeg()
        return self._thumbnail

    def _bad_messages(self) -> list[Publication]:
        from station.central.scenario_truth import bad_messages

        if not self.plan.bad_messages or not self.stations:
            return []
        made = bad_messages(self.stations[0], self.plan.topic_root, APPLICATION_ID, self.end)
        return [self._pub(self.end, topic, payload, content_type, "bad") for topic, payload, content_type in
                itertools.islice(itertools.cycle(made), self.plan.bad_messages)]


def _pick_species(rng: random.Random) -> list[str]:
    key = rng.choices(list(SPECIES_MIX), weights=list(SPECIES_MIX.values()))[0]
    if key == "human" and rng.random() < 0.3:
        return ["human", "domestic_dog"]
    return [key]


__all__ = ["FleetPlan", "Publication", "Scenario", "PlannedSighting", "uuid7_at"]
