"""Retention under disk pressure: free space by deleting image files, never records.

Order of sacrifice, oldest first within each step, until ``min_free_bytes`` is free again:

1. images of blank sequences whose summary has been delivered;
2. images of sequences whose detection message has been delivered (the record and the thumbnail the
   server already has stay; the files go);
3. unsent thumbnails in the outbox (marked ``dropped_reason``; the detection itself is still sent).

A detection, an observation or an unsent detection message is never deleted, and the images of a sequence
whose detection has not been delivered are kept. Every deletion is recorded (``media.file_deleted_at``,
``outbox.dropped_reason``, and a line in ``station_log``), so the server can tell "deleted for space" from
"lost".

Retention must be able to run on a card that is already full: SQLite needs a little room of its own to
record a deletion (WAL frames). A small reserve file (``RESERVE_NAME`` beside the media folder) is kept
while there is room and released the moment space runs short; a failing WAL checkpoint is logged and the
deletions go on.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from station.store.db import write_transaction
from station.store.media import MediaStore
from station.store.outbox import PENDING
from station.store.repo import StationStore
from station.wire.ids import iso, utc_now

log = logging.getLogger(__name__)

RESERVE_NAME = ".trapd-reserve"
RESERVE_BYTES = 256 * 1024

_DELIVERED_EVENTS = """
    SELECT m.media_id, m.file_path FROM media m JOIN events e ON e.event_id = m.event_id
    WHERE m.file_deleted_at IS NULL AND e.state = 'closed'
      AND EXISTS (SELECT 1 FROM outbox b WHERE b.event_id = e.event_id AND b.kind = 'detection'
                  AND b.sent_at IS NOT NULL)
      AND {blank} EXISTS (SELECT 1 FROM observations o WHERE o.event_id = e.event_id
                          AND o.observation_type != 'blank')
    ORDER BY m.timestamp LIMIT 200"""


@dataclasses.dataclass
class RetentionReport:
    files_deleted: int = 0
    bytes_freed: int = 0
    thumbnails_dropped: int = 0


def enforce(store: StationStore, media: MediaStore, *, min_free_bytes: int,
            free_bytes: Callable[[], int] | None = None) -> RetentionReport:
    """Free space until ``min_free_bytes`` are free or nothing more may be deleted."""
    free = free_bytes or media.free_bytes
    report = RetentionReport()
    reserve = media.root.parent / RESERVE_NAME
    if free() >= min_free_bytes:
        _keep_reserve(reserve, free() - min_free_bytes)
        return report
    reserve.unlink(missing_ok=True)  # room for SQLite to record what is deleted
    try:
        store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the WAL gives its space back first
    except sqlite3.Error as exc:  # never a reason not to delete
        log.warning("retention: WAL checkpoint failed (%s); deleting files anyway", exc)
    for blank_first in ("NOT", ""):
        while free() < min_free_bytes:
            batch = list(store.db.query(_DELIVERED_EVENTS.format(blank=blank_first)))
            if not batch:
                break
            _delete_files(store, media, batch, report)
    if free() < min_free_bytes:
        _drop_unsent_thumbnails(store, report)
    if report.files_deleted or report.thumbnails_dropped:
        detail = (f"disk pressure: deleted {report.files_deleted} image files ({report.bytes_freed} bytes), "
                  f"dropped {report.thumbnails_dropped} unsent thumbnails; records kept")
        log.warning(detail)
        store.log("retention", detail)
    return report


def _keep_reserve(reserve: Path, spare_bytes: int) -> None:
    """(Re)create the reserve once there is room for it twice over beyond the free space to keep."""
    if spare_bytes < 2 * RESERVE_BYTES or reserve.exists():
        return
    try:
        fd = os.open(reserve, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        finally:
            os.close(fd)
    except OSError as exc:
        reserve.unlink(missing_ok=True)
        log.warning("retention: cannot keep a %d-byte reserve (%s)", RESERVE_BYTES, exc)


def _delete_files(store: StationStore, media: MediaStore, batch: list[dict], report: RetentionReport) -> None:
    now = iso(utc_now())
    for row in batch:
        report.bytes_freed += media.delete(row["file_path"])
        report.files_deleted += 1
    with write_transaction(store.db):
        store.db.conn.executemany("UPDATE media SET file_deleted_at = ? WHERE media_id = ?",
                                  [(now, row["media_id"]) for row in batch])


def _drop_unsent_thumbnails(store: StationStore, report: RetentionReport) -> None:
    with write_transaction(store.db):
        cursor = store.db.conn.execute(
            "UPDATE outbox SET dropped_reason = 'disk pressure: thumbnail dropped, detection kept', payload = X'' "
            f"WHERE kind = 'media' AND {PENDING}")
        report.thumbnails_dropped += cursor.rowcount
