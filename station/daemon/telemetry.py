"""Telemetry and on-demand media messages: what the station says about itself and sends when asked."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

from station.daemon.control import StationSnapshot
from station.errors import StoreError
from station.store.db import connect
from station.store.media import MediaStore
from station.store.outbox import pending_count
from station.store.repo import OutboxMessage
from station.wire.ids import iso, utc_now, uuid7
from station.wire.messages import TelemetryMessage, encode_json

TELEMETRY_PRIORITY = 3
FULL_MEDIA_PRIORITY = 1


def telemetry_message(snapshot: StationSnapshot, *, db_path: Path) -> OutboxMessage:
    """The station's health at the moment ``snapshot`` was taken, with the outbox backlog read from ``db_path``."""
    board = snapshot.board
    with closing(connect(db_path, readonly=True).conn) as conn:
        pending = pending_count(conn)
    message = TelemetryMessage(id=uuid7(), station_id=snapshot.station_id, at=iso(utc_now()),
                               uptime_s=round(snapshot.uptime_s, 1),
                               battery_mv=board.get("battery_mv"), solar_mv=board.get("solar_mv"),
                               temperature_c=board.get("temperature_c"),
                               disk_free_mb=snapshot.disk_free // 1_000_000,
                               disk_total_mb=snapshot.disk_total // 1_000_000, outbox_pending=pending,
                               queue_depths=dict(snapshot.queue_depths), counters=dict(snapshot.counters))
    return OutboxMessage(message_id=message.id, kind="telemetry", priority=TELEMETRY_PRIORITY, topic="telemetry",
                         payload=encode_json(message), content_type="application/json")


def full_media_message(*, db_path: Path, media: MediaStore, media_id: str) -> OutboxMessage:
    with closing(connect(db_path, readonly=True).conn) as conn:
        row = conn.execute("SELECT file_path, event_id, file_deleted_at FROM media WHERE media_id = ?",
                           [media_id]).fetchone()
    if row is None:
        raise StoreError(f"no media {media_id} on this station")
    if row[2] is not None:
        raise StoreError(f"media {media_id} was deleted at {row[2]} to free space; only its record remains")
    data = media.read(row[0])
    return OutboxMessage(message_id=uuid7(), kind="media_full", priority=FULL_MEDIA_PRIORITY,
                         topic=f"media/{media_id}/full", payload=data, content_type="image/jpeg", event_id=row[1])
