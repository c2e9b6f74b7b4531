"""What the ranger's page shows: the running station's snapshot and read-only questions to its database.

Every function opens its own read-only connection (WAL lets it read while the pipeline writes) and closes it
before returning, so request threads never share a connection.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

from station.daemon.control import StationSnapshot
from station.store.db import connect
from station.store.outbox import pending_count
from station.wire.ids import iso, utc_now

CPU_THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")
#: A media id sorts before every UUIDv7: the walk-test feed's cursor when nothing was shown yet.
FIRST_CURSOR = "0"


@contextlib.contextmanager
def reading(db_path: Path) -> Iterator[sqlite_utils.Database]:
    db = connect(db_path, readonly=True)
    try:
        yield db
    finally:
        db.conn.close()


def status_values(snapshot: StationSnapshot, db_path: Path) -> dict[str, Any]:
    """Power, storage, temperature, links, queues, model and clock of the running station, for the page."""
    board = snapshot.board
    with reading(db_path) as db:
        outbox = pending_count(db.conn)
        last = db.execute("SELECT start FROM events ORDER BY start DESC LIMIT 1").fetchone()
    return {
        "station_id": snapshot.station_id, "park": snapshot.park, "deployment_id": snapshot.deployment_id,
        "battery_mv": board.get("battery_mv"), "solar_mv": board.get("solar_mv"),
        "temperature_c": board.get("temperature_c"), "cpu_temperature_c": cpu_temperature(),
        "disk_free": snapshot.disk_free, "disk_total": snapshot.disk_total, "disk_low": snapshot.disk_low,
        "mqtt": snapshot.mqtt_connected,
        "lora": None if snapshot.lora is None else dataclasses.asdict(snapshot.lora),
        "queues": dict(snapshot.queue_depths),
        "outbox_pending": outbox,
        "model": snapshot.model,
        "station_time": iso(utc_now()), "station_unix_ms": int(utc_now().timestamp() * 1000),
        "uptime_s": snapshot.uptime_s,
        "triggers": snapshot.count("triggers"), "sequences": snapshot.count("sequences_opened"),
        "last_sequence": last[0] if last else None,
    }


def cpu_temperature(zone: Path = CPU_THERMAL_ZONE) -> float | None:
    """The SoC temperature (°C) from the kernel's thermal zone; None where there is none."""
    try:
        return int(zone.read_text().strip()) / 1000.0
    except (OSError, ValueError):
        return None


def latest_media_id(db_path: Path) -> str:
    """The newest media id (the walk-test cursor at page load: only frames after it are shown)."""
    with reading(db_path) as db:
        row = db.execute("SELECT max(media_id) FROM media").fetchone()
    return row[0] or FIRST_CURSOR


def walk_feed(db_path: Path, *, after: str, limit: int = 20) -> list[dict[str, Any]]:
    """Frames committed after media id ``after`` (UUIDv7: time order), oldest first."""
    with reading(db_path) as db:
        return list(db.query(
            "SELECT m.media_id, m.event_id, m.timestamp, m.burst_index, m.frame_index, m.top_species, "
            "m.top_score, e.trigger_source FROM media m JOIN events e ON e.event_id = m.event_id "
            "WHERE m.media_id > ? ORDER BY m.media_id LIMIT ?", [after, limit]))


def recent_sequences(db_path: Path, *, limit: int = 20) -> list[dict[str, Any]]:
    """The newest sequences with their observations, best frame and any review, newest first."""
    with reading(db_path) as db:
        events = list(db.query(
            "SELECT e.event_id, e.start, e.end, e.state, e.trigger_source, r.verdict, "
            "  (SELECT count(*) FROM media m WHERE m.event_id = e.event_id) AS frames, "
            "  (SELECT min(m.media_id) FROM media m WHERE m.event_id = e.event_id "
            "   AND m.file_deleted_at IS NULL) AS first_media_id "
            "FROM events e LEFT JOIN event_reviews r ON r.event_id = e.event_id "
            "ORDER BY e.start DESC LIMIT ?", [limit]))
        ids = [event["event_id"] for event in events]
        observations = list(db.query(
            f"SELECT event_id, observation_type, species_key, classification_probability AS confidence, "
            f"best_media_id FROM observations WHERE event_id IN ({','.join('?' * len(ids))}) "
            f"ORDER BY classification_probability DESC", ids)) if ids else []
    for event in events:
        event["observations"] = [o for o in observations if o["event_id"] == event["event_id"]]
        best = next((o["best_media_id"] for o in event["observations"] if o["best_media_id"]), None)
        event["thumb_media_id"] = best or event["first_media_id"]
    return events


def media_path(db_path: Path, media_id: str) -> str | None:
    """The stored file of a media row (relative to the media folder), None if unknown or deleted."""
    with reading(db_path) as db:
        row = db.execute("SELECT file_path FROM media WHERE media_id = ? AND file_deleted_at IS NULL",
                         [media_id]).fetchone()
    return row[0] if row else None


def open_deployment(db_path: Path, station_id: str) -> dict[str, Any] | None:
    with reading(db_path) as db:
        rows = list(db.query("SELECT * FROM deployments WHERE station_id = ? AND end IS NULL "
                             "ORDER BY start DESC LIMIT 1", [station_id]))
    return rows[0] if rows else None


def past_deployments(db_path: Path, station_id: str, *, limit: int = 5) -> list[dict[str, Any]]:
    with reading(db_path) as db:
        return list(db.query("SELECT deployment_id, location_name, start, end FROM deployments "
                             "WHERE station_id = ? AND end IS NOT NULL ORDER BY start DESC LIMIT ?",
                             [station_id, limit]))

