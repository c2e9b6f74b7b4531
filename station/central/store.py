"""Idempotent writes of decoded records into PostgreSQL, and the join of LoRa summaries with full records.

Every write is safe to repeat (delivery is at-least-once): a detection is keyed by its sequence id, a
telemetry message by its id, a LoRa uplink by ChirpStack's deduplication id, a thumbnail by its media id.

The join: a LoRa summary and the full record of the same detection share (station, species code, sequence
start second) — the ``observations_join_key`` constraint. Whichever arrives first inserts the row; a LoRa
summary that finds a row only notes the LoRa frame; a full record that finds a LoRa row takes it over (its
own ids, confidence, media) and keeps what experts added (the individual). Concurrent workers meet in
PostgreSQL's ``INSERT … ON CONFLICT``, which is atomic, so no lock of our own is needed.

Functions raise BadMessage only before they write anything, so the caller can dead-letter and go on.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from firmware_bridge.fields import ResetCause
from station.central.alerts import Alert, Sighting, StationPlace, alerts_for
from station.central.chirpstack import LoRaUplink
from station.central.config import AlertsSection
from station.central.decode import Record, Thumbnail, uuid7_time
from station.central.errors import BadMessage
from station.vision.species import by_code
from station.wire.ids import parse_iso
from station.wire.lora_codec import DetectionFrame, StatusFrame
from station.wire.messages import AlertMessage, DetectionMessage, StatusMessage, TelemetryMessage

if TYPE_CHECKING:
    import psycopg

PLACE_TTL_S = 30.0

_OBSERVATION_COLUMNS = ("observation_id, event_id, station_id, deployment_id, event_start, event_end, start_second, "
                        "observation_type, species_key, species_code, scientific_name, count, confidence, "
                        "frames_seen, best_media_id, classified_by, source, lora_frame, lora_received_at, box")
_FULL_RECORD = f"""INSERT INTO observations ({_OBSERVATION_COLUMNS})
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'station', NULL, NULL, %s)
    ON CONFLICT ON CONSTRAINT observations_join_key DO UPDATE SET
        observation_id = EXCLUDED.observation_id, event_id = EXCLUDED.event_id,
        deployment_id = EXCLUDED.deployment_id, event_start = EXCLUDED.event_start,
        event_end = EXCLUDED.event_end, observation_type = EXCLUDED.observation_type,
        species_key = EXCLUDED.species_key, scientific_name = EXCLUDED.scientific_name, count = EXCLUDED.count,
        confidence = EXCLUDED.confidence, frames_seen = EXCLUDED.frames_seen,
        best_media_id = EXCLUDED.best_media_id, classified_by = EXCLUDED.classified_by, source = 'station',
        box = EXCLUDED.box
    WHERE observations.source = 'lora'"""
_LORA_SUMMARY = f"""INSERT INTO observations ({_OBSERVATION_COLUMNS})
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, NULL, %s, 'lora', %s, %s, NULL)
    ON CONFLICT ON CONSTRAINT observations_join_key DO UPDATE SET
        lora_frame = EXCLUDED.lora_frame, lora_received_at = EXCLUDED.lora_received_at"""


def _models(message: DetectionMessage) -> str:
    """Every model that decided (detection/1.1 lists them, detector first), else the one of 1.0."""
    refs = message.models or [message.model]
    return " + ".join(f"{ref.name} {ref.version}" for ref in refs)


@dataclasses.dataclass
class Written:
    """What one record did to the store."""

    stored: bool
    alerts: list[Alert] = dataclasses.field(default_factory=list)
    telemetry_month: tuple[int, int] | None = None
    #: alerts already recorded (provisional ones are recorded at once, so a full record in the same batch
    #: finds them to confirm or withdraw); published after the commit like ``alerts``
    raised: list[Alert] = dataclasses.field(default_factory=list)
    #: (alert id, kind, payload) of provisional alerts the full record did not confirm, to publish as withdrawn
    withdrawn: list[tuple[str, str, dict]] = dataclasses.field(default_factory=list)


MAX_ALERT_SPECIES = 64  # one frame's species; a longer list is garbage
MAX_ALERT_AHEAD = timedelta(hours=1)  # a station clock this far ahead of the server is wrong
MAX_ALERT_OPEN = timedelta(days=1)  # the frame of a provisional alert comes early in its sequence


def _check_alert(message: AlertMessage, start: datetime, at: datetime, received_at: datetime | None) -> None:
    if len(message.detections) > MAX_ALERT_SPECIES:
        raise BadMessage(f"alert: {len(message.detections)} detections; one frame names at most "
                         f"{MAX_ALERT_SPECIES} species")
    if not start - timedelta(minutes=1) <= at <= start + MAX_ALERT_OPEN:
        raise BadMessage(f"alert: frame time {message.at} is not within a day of the sequence start "
                         f"{message.start}")
    if received_at is not None and at > received_at + MAX_ALERT_AHEAD:
        raise BadMessage(f"alert: frame time {message.at} is in the future (received {received_at.isoformat()}); "
                         "check the station clock")


class IngestWriter:
    """Writes ingested records into PostgreSQL through one connection; the caller owns the transaction."""

    def __init__(self, conn: psycopg.Connection, alerts: AlertsSection) -> None:
        self.conn = conn
        self.alert_settings = alerts
        self._places: dict[str, StationPlace] = {}
        self._places_at = 0.0
        # rows known to exist (committed); stations and deployments are never deleted, so this only saves
        # round trips. New ones wait in _pending until the caller's transaction commits.
        self._known: set[tuple[str, str]] = set()
        self._pending: set[tuple[str, str]] = set()
        self._current: dict[str, str] = {}  # station -> the deployment this writer last made current
        self._pending_current: dict[str, str] = {}

    def committed(self) -> None:
        self._known |= self._pending
        self._current.update(self._pending_current)
        self.rolled_back()

    def rolled_back(self) -> None:
        self._pending.clear()
        self._pending_current.clear()

    # -- look-ups ---------------------------------------------------------------------------------------------
    def place(self, station_id: str) -> StationPlace:
        if time.monotonic() - self._places_at > PLACE_TTL_S:
            self._places, self._places_at = {}, time.monotonic()
        if station_id not in self._places:
            row = self.conn.execute("SELECT s.park_id, p.country, s.latitude, s.longitude FROM stations s "
                                    "LEFT JOIN parks p USING (park_id) WHERE s.station_id = %s",
                                    [station_id]).fetchone()
            self._places[station_id] = StationPlace(station_id, *(row or (None, None, None, None)))
        return self._places[station_id]

    def lora_station(self, uplink: LoRaUplink) -> str:
        """The station a LoRa device belongs to: its ChirpStack tag, the registry's DevEUI, or its name."""
        if uplink.station_tag:
            return uplink.station_tag
        row = self.conn.execute("SELECT station_id FROM stations WHERE dev_eui = %s", [uplink.dev_eui]).fetchone()
        if row is None and uplink.device_name:
            row = self.conn.execute("SELECT station_id FROM stations WHERE station_id = %s AND registered",
                                    [uplink.device_name]).fetchone()
        if row is None:
            raise BadMessage(f"lora: device {uplink.dev_eui} ({uplink.device_name or 'no name'}) is not mapped "
                             f"to a station; set the ChirpStack device tag station_id, or dev_eui in the registry")
        return row[0]

    # -- dispatch ---------------------------------------------------------------------------------------------
    def write(self, record: Record, received_at: datetime) -> Written:
        if isinstance(record, DetectionMessage):
            return self.detection(record, received_at)
        if isinstance(record, AlertMessage):
            return self.provisional_alert(record, received_at)
        if isinstance(record, LoRaUplink):
            return self.lora(record)
        if isinstance(record, TelemetryMessage):
            return self.telemetry(record)
        if isinstance(record, Thumbnail):
            return self.thumbnail(record)
        return self.status(record)

    def _ensure_station(self, station_id: str) -> None:
        if ("station", station_id) not in self._known:
            self.conn.execute("INSERT INTO stations (station_id) VALUES (%s) ON CONFLICT DO NOTHING", [station_id])
            self._pending.add(("station", station_id))

    def _ensure_deployment(self, deployment_id: str, station_id: str) -> None:
        if ("deployment", deployment_id) not in self._known:
            self.conn.execute("INSERT INTO deployments (deployment_id, station_id) VALUES (%s, %s) "
                              "ON CONFLICT DO NOTHING", [deployment_id, station_id])
            self._pending.add(("deployment", deployment_id))

    # -- full records -----------------------------------------------------------------------------------------
    def detection(self, message: DetectionMessage, received_at: datetime) -> Written:
        station = message.station_id
        deployment = message.deployment_id or f"{station}-undeclared"
        start, end = parse_iso(message.start), parse_iso(message.end)
        self._ensure_station(station)
        self._ensure_deployment(deployment, station)
        if self._current.get(station) != deployment:
            self.conn.execute("UPDATE stations SET current_deployment_id = %s WHERE station_id = %s "
                              "AND current_deployment_id IS DISTINCT FROM %s", [deployment, station, deployment])
            self._pending_current[station] = deployment
        inserted = self.conn.execute(
            "INSERT INTO events (event_id, message_id, station_id, deployment_id, start_at, end_at, trigger, frames, "
            "empty, model, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING 1",
            [message.sequence_id, message.id, station, deployment, start, end, message.trigger, message.frames,
             message.empty, _models(message), received_at]).fetchone()
        if inserted is None:
            return Written(stored=False)
        second = int(start.timestamp())
        base = [message.sequence_id, station, deployment, start, end, second]
        model = _models(message)
        written = Written(stored=True)
        for d in message.detections:
            self.conn.execute(_FULL_RECORD, [d.observation_id, *base, d.observation_type, d.species, d.species_code,
                                             d.scientific_name, d.count or None, d.confidence, d.frames_seen,
                                             d.best_media_id, model, d.box])
            self.conn.execute("INSERT INTO media (media_id, station_id, event_id, captured_at) VALUES (%s, %s, %s, %s) "
                              "ON CONFLICT (media_id) DO UPDATE SET event_id = EXCLUDED.event_id "
                              "WHERE media.event_id IS NULL",
                              [d.best_media_id, station, message.sequence_id, _media_time(d.best_media_id, start)])
            sighting = Sighting(station, d.species, message.sequence_id, second, start, d.confidence, "station")
            written.alerts += alerts_for(sighting, self.place(station), self.alert_settings)
        if message.empty:
            self.conn.execute(_FULL_RECORD, [f"{message.sequence_id}-blank", *base, "blank", "blank", 0, None, None,
                                             None, None, None, model, None])
        written.withdrawn = self._settle_provisional(station, second, {d.species for d in message.detections})
        return written

    # -- provisional alerts -----------------------------------------------------------------------------------
    def provisional_alert(self, message: AlertMessage, received_at: datetime | None = None) -> Written:
        """A station saw a person or a big cat in one frame of a sequence still open: raise the alerts now.
        The key (station, sequence start second, species) is the full record's, so it is raised once. An
        alert arriving after its sequence's full record adds nothing (the record already raised, or ruled
        out, its alerts); one whose times cannot be true is refused (BadMessage: dead-lettered)."""
        station, start, at = message.station_id, parse_iso(message.start), parse_iso(message.at)
        _check_alert(message, start, at, received_at)
        if self.conn.execute("SELECT 1 FROM events WHERE event_id = %s AND station_id = %s",
                             [message.sequence_id, station]).fetchone() is not None:
            return Written(stored=False)
        self._ensure_station(station)
        alerts = []
        for d in message.detections:
            sighting = Sighting(station, d.species, message.sequence_id, int(start.timestamp()), at,
                                d.confidence, "provisional")
            alerts += alerts_for(sighting, self.place(station), self.alert_settings)
        return Written(stored=True, raised=record_alerts(self.conn, alerts))

    def _settle_provisional(self, station: str, second: int, species: set[str]) -> list[tuple[str, str, dict]]:
        """The full record confirms the provisional alerts of its sequence, or withdraws those it contradicts."""
        rows = self.conn.execute(
            "UPDATE alerts SET confirmed_at = CASE WHEN species_key = ANY(%s) THEN now() END, "
            "withdrawn_at = CASE WHEN species_key = ANY(%s) THEN NULL ELSE now() END "
            "WHERE station_id = %s AND payload->>'source' = 'provisional' AND confirmed_at IS NULL "
            "AND withdrawn_at IS NULL AND alert_key LIKE %s "
            "RETURNING alert_id, kind, payload, withdrawn_at IS NOT NULL",
            [sorted(species), sorted(species), station, f"%:{station}:{second}:%"]).fetchall()
        return [(alert_id, kind, {**payload, "withdrawn": True}) for alert_id, kind, payload, gone in rows if gone]

    def telemetry(self, message: TelemetryMessage) -> Written:
        at = parse_iso(message.at)
        self._ensure_station(message.station_id)
        detail = {"uptime_s": message.uptime_s, "queue_depths": message.queue_depths, "counters": message.counters}
        row = self.conn.execute(
            "INSERT INTO telemetry (message_id, station_id, at, source, battery_mv, solar_mv, temperature_c, "
            "disk_free_mb, disk_total_mb, outbox_pending, detail) VALUES (%s, %s, %s, 'station', %s, %s, %s, %s, %s, "
            "%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            [message.id, message.station_id, at, message.battery_mv, message.solar_mv, message.temperature_c,
             message.disk_free_mb, message.disk_total_mb, message.outbox_pending, _json(detail)]).fetchone()
        return Written(stored=row is not None)

    def status(self, message: StatusMessage) -> Written:
        self._ensure_station(message.station_id)
        self.conn.execute("UPDATE stations SET state = %s, state_at = %s WHERE station_id = %s "
                          "AND (state_at IS NULL OR state_at <= %s)",
                          [message.state, parse_iso(message.at), message.station_id, parse_iso(message.at)])
        return Written(stored=True)

    def thumbnail(self, thumb: Thumbnail) -> Written:
        self._ensure_station(thumb.station_id)
        row = self.conn.execute(
            "INSERT INTO media (media_id, station_id, captured_at, content_type, thumbnail) "
            "VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (media_id) DO UPDATE SET content_type = EXCLUDED.content_type, thumbnail = EXCLUDED.thumbnail "
            "WHERE media.thumbnail IS NULL RETURNING 1",
            [thumb.media_id, thumb.station_id, thumb.captured_at, thumb.content_type, thumb.data]).fetchone()
        return Written(stored=row is not None)

    # -- LoRa -------------------------------------------------------------------------------------------------
    def lora(self, uplink: LoRaUplink) -> Written:
        station = self.lora_station(uplink)
        frame = uplink.frame
        self._ensure_station(station)
        detections = frame.detections if isinstance(frame, DetectionFrame) else None
        row = self.conn.execute(
            "INSERT INTO lora_uplinks (uplink_id, station_id, dev_eui, f_cnt, frame_sequence, frame_type, detections, "
            "payload, received_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            [uplink.uplink_id, station, uplink.dev_eui, uplink.f_cnt, frame.sequence,
             "detections" if detections is not None else "status", len(detections) if detections is not None else 0,
             uplink.payload, uplink.received_at]).fetchone()
        if row is None:
            return Written(stored=False)
        if isinstance(frame, DetectionFrame):
            return self._lora_detections(station, frame, uplink.received_at)
        return self._lora_status(station, frame, uplink)

    def _lora_detections(self, station: str, frame: DetectionFrame, received_at: datetime) -> Written:
        current = self.conn.execute("SELECT current_deployment_id FROM stations WHERE station_id = %s",
                                    [station]).fetchone()
        deployment = (current and current[0]) or f"{station}-undeclared"
        self._ensure_deployment(deployment, station)
        known = by_code()
        written = Written(stored=True)
        for d in frame.detections:
            species = known.get(d.species_code)
            key = species.key if species else "unknown_animal"
            kind = species.kind if species and species.kind in ("animal", "human", "vehicle") else "unknown"
            at = datetime.fromtimestamp(d.at, tz=UTC)
            event_id = f"lora:{station}:{d.at}"
            self.conn.execute(_LORA_SUMMARY, [f"lora:{station}:{d.species_code}:{d.at}", event_id, station, deployment,
                                              at, at, d.at, kind, key, d.species_code,
                                              (species.latin or None) if species else None, d.count or None,
                                              d.confidence / 100, "LoRa summary", frame.sequence, received_at])
            sighting = Sighting(station, key, event_id, d.at, at, d.confidence / 100, "lora")
            written.alerts += alerts_for(sighting, self.place(station), self.alert_settings)
        return written

    def _lora_status(self, station: str, frame: StatusFrame, uplink: LoRaUplink) -> Written:
        at = datetime.fromtimestamp(frame.time, tz=UTC)
        try:
            cause = ResetCause(frame.reset_cause).name.lower()
        except ValueError:
            cause = f"code {frame.reset_cause}"
        self.conn.execute(
            "INSERT INTO telemetry (message_id, station_id, at, source, battery_mv, temperature_c, storage_used_pct, "
            "outbox_pending, reset_cause) VALUES (%s, %s, %s, 'lora', %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [f"lora:{uplink.uplink_id}", station, at, frame.battery_mv, frame.temperature_c, frame.storage_used_pct,
             frame.queue_depth, cause])
        return Written(stored=True)


def telemetry_month(record: Record) -> tuple[int, int] | None:
    """The telemetry partition a record needs, if it writes telemetry."""
    if isinstance(record, TelemetryMessage):
        at = parse_iso(record.at)
    elif isinstance(record, LoRaUplink) and isinstance(record.frame, StatusFrame):
        at = datetime.fromtimestamp(record.frame.time, tz=UTC)
    else:
        return None
    return at.year, at.month


def _media_time(media_id: str, fallback: datetime) -> datetime:
    try:
        return uuid7_time(media_id)
    except ValueError:
        return fallback


def _json(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def record_alerts(conn: psycopg.Connection, alerts: list[Alert]) -> list[Alert]:
    """Insert alerts not raised before (by key); returns the new ones, to publish after commit."""
    new = []
    for alert in alerts:
        row = conn.execute("INSERT INTO alerts (alert_id, alert_key, kind, level, station_id, species_key, event_id, "
                           "observed_at, payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                           "ON CONFLICT (alert_key) DO NOTHING RETURNING 1",
                           [alert.alert_id, alert.alert_key, alert.kind, alert.level, alert.sighting.station_id,
                            alert.sighting.species_key, alert.sighting.event_id, alert.sighting.observed_at,
                            _json(alert.payload())]).fetchone()
        if row is not None:
            new.append(alert)
    return new


def dead_letter(conn: psycopg.Connection, topic: str, payload: bytes, reason: str, worker: str) -> None:
    conn.execute("INSERT INTO dead_letters (topic, payload, reason, worker) VALUES (%s, %s, %s, %s)",
                 [topic, payload, reason[:2000], worker])

