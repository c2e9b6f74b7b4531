"""What the pipeline writes to the station database, one durable transaction per step.

Order of promises: an event row exists before any of its files; a file is on disk (fsynced) before its
media row; a sequence's observations, its closing and its outbox messages commit together, so after a
crash a sequence is either still open (and is finished at the next start) or complete with its messages.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import sqlite_utils

from station.store.db import open_store_db, write_transaction
from station.types import Detection, Frame, FrameResult, SequenceClosed
from station.vision.species import Species
from station.wire.ids import iso, utc_now


@dataclasses.dataclass(frozen=True)
class OutboxMessage:
    """A message promised to an uplink; ``topic`` is relative to ``<root>/<station id>/``."""

    message_id: str
    kind: str  # detection, status, telemetry, media
    priority: int  # 0 first
    topic: str
    payload: bytes
    content_type: str
    event_id: str | None = None
    correlation_data: bytes | None = None  # MQTT 5 correlation data of the command this replies to


class StationStore:
    """The writer side of the database. Use from one thread (the store writer) only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db: sqlite_utils.Database = open_store_db(path)

    def close(self) -> None:
        self.db.conn.close()

    def log(self, kind: str, detail: str) -> None:
        with write_transaction(self.db):
            self.db.table("station_log").insert({"at": iso(utc_now()), "kind": kind, "detail": detail})

    def add_board_telemetry(self, reading: dict) -> None:
        with write_transaction(self.db):
            self.db.table("board_telemetry").insert({"at": iso(utc_now()), **{k: reading.get(k) for k in (
                "battery_mv", "solar_mv", "temperature_c", "lux", "rtc_unix", "reset_cause")}})

    def open_event(self, *, event_id: str, station_id: str, deployment_id: str | None, trigger_source: str,
                   start: str) -> None:
        with write_transaction(self.db):
            self.db.table("events").insert({"event_id": event_id, "station_id": station_id,
                                      "deployment_id": deployment_id or None, "trigger_source": trigger_source,
                                      "start": start, "state": "open", "bursts": 1})

    def extend_event(self, event_id: str) -> None:
        with write_transaction(self.db):
            self.db.execute("UPDATE events SET bursts = bursts + 1 WHERE event_id = ?", [event_id])

    def add_media(self, frame: Frame, size: int) -> None:
        with write_transaction(self.db):
            self.db.table("media").insert(_media_row(frame, size), ignore=True)

    def add_frame_result(self, result: FrameResult, *, model: str = "") -> None:
        """The frame's verdict; with a detector also its boxes (a frame classified again replaces them)."""
        with write_transaction(self.db):
            self.db.execute("UPDATE media SET top_species = ?, top_score = ?, scores = ? WHERE media_id = ?",
                            [result.top_species, round(result.top_score, 4),
                             json.dumps({k: round(v, 4) for k, v in result.scores.items() if v >= 0.001}),
                             result.media_id])
            self.db.execute("DELETE FROM frame_detections WHERE media_id = ?", [result.media_id])
            if result.boxes:
                self.db.table("frame_detections").insert_all(_box_rows(result, model))

    def frame_detections(self, event_id: str) -> list[dict]:
        return list(self.db.query("SELECT * FROM frame_detections WHERE event_id = ? ORDER BY media_id, "
                                  "detection_id", [event_id]))

    def close_sequence(self, closed: SequenceClosed, observations: list[dict],
                       messages: list[OutboxMessage], model: str) -> None:
        """Observations, the event's end and its outbox messages in one durable transaction."""
        with write_transaction(self.db):
            self.db.table("observations").insert_all(observations, ignore=True)
            self.db.execute("UPDATE events SET state = 'closed', end = ?, model = ? WHERE event_id = ?",
                            [iso(closed.ended_at), model, closed.sequence_id])
            self.db.table("outbox").insert_all((_outbox_row(m) for m in messages), ignore=True)

    def enqueue(self, message: OutboxMessage) -> None:
        with write_transaction(self.db):
            self.db.table("outbox").insert(_outbox_row(message), ignore=True)

    def open_events(self) -> list[dict]:
        return list(self.db.query("SELECT * FROM events WHERE state = 'open' ORDER BY start"))

    def media_of(self, event_id: str) -> list[dict]:
        return list(self.db.query("SELECT * FROM media WHERE event_id = ? ORDER BY burst_index, frame_index",
                                  [event_id]))

    def known_media_ids(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT media_id FROM media")}

    def event_exists(self, event_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM events WHERE event_id = ?", [event_id]).fetchone() is not None


def _media_row(frame: Frame, size: int) -> dict:
    return {"media_id": frame.media_id, "event_id": frame.sequence_id, "timestamp": iso(frame.captured_at),
            "file_path": frame.path, "burst_index": frame.burst_index, "frame_index": frame.frame_index,
            "width": frame.width, "height": frame.height, "bytes": size}


def _box_rows(result: FrameResult, model: str) -> list[dict]:
    return [{"media_id": result.media_id, "event_id": result.sequence_id, "box_x": round(v.box.x, 4),
             "box_y": round(v.box.y, 4), "box_width": round(v.box.width, 4), "box_height": round(v.box.height, 4),
             "score": round(v.box.score, 4), "species_key": v.species, "confidence": round(v.confidence, 4),
             "classified": int(v.classified), "model": model} for v in result.boxes]


def _outbox_row(message: OutboxMessage) -> dict:
    row = dataclasses.asdict(message)
    row["created_at"] = iso(utc_now())
    return row


def observation_rows(detections: list[Detection], *, event_id: str, deployment_id: str | None,
                     species: dict[str, Species], classified_by: str, new_id) -> list[dict]:
    """Camtrap DP event-level observations; a sequence with no detection gets one 'blank' observation."""
    now = iso(utc_now())
    base = {"event_id": event_id, "deployment_id": deployment_id or None, "classified_by": classified_by,
            "classification_timestamp": now, "classification_method": "machine", "observation_level": "event"}
    if not detections:
        return [{**base, "observation_id": new_id(), "observation_type": "blank"}]
    rows = []
    for detection in detections:
        entry = species.get(detection.species)
        rows.append({**base, "observation_id": detection.observation_id,
                     "observation_type": entry.kind if entry else "unknown",
                     "species_key": detection.species, "species_code": entry.code if entry else None,
                     "scientific_name": (entry.latin or None) if entry else None, "count": detection.count,
                     "classification_probability": detection.confidence,
                     "best_media_id": detection.best_media_id, "frames_seen": detection.frames_seen})
    return rows
