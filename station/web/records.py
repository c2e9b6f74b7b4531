"""What the ranger's page writes: deployments (start, change, end) and sequences marked wrong.

Each write is one short durable transaction of its own (``write_transaction``: the write lock is taken up
front, so it waits its turn behind the pipeline's store writer instead of failing). The page needs the
outcome at once (the new deployment id, a refusal), which the store writer's fire-and-forget queue does
not give.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from station.store.db import connect, write_transaction
from station.wire.ids import iso, utc_now, uuid7

#: Longest deployment id ``station.deployment_id`` accepts.
MAX_DEPLOYMENT_ID = 64


@contextlib.contextmanager
def writing(db_path: Path) -> Iterator[sqlite_utils.Database]:
    db = connect(db_path)
    try:
        with write_transaction(db):
            yield db
    finally:
        db.conn.close()


def new_deployment_id(station_id: str, start: datetime) -> str:
    """``<station id>-<UTC start>``, readable in a spreadsheet; a UUIDv7 when that would be too long."""
    readable = f"{station_id}-{start:%Y%m%dT%H%M%SZ}"
    return readable if len(readable) <= MAX_DEPLOYMENT_ID else uuid7()


def start_deployment(db_path: Path, *, station_id: str, columns: dict[str, Any],
                     now: datetime | None = None) -> str:
    """Record a new deployment starting now; an open one of this station ends at the same moment."""
    now = now or utc_now()
    deployment_id = new_deployment_id(station_id, now)
    with writing(db_path) as db:
        db.execute("UPDATE deployments SET end = ? WHERE station_id = ? AND end IS NULL", [iso(now), station_id])
        db.table("deployments").insert({**columns, "deployment_id": deployment_id, "station_id": station_id,
                                  "start": iso(now), "end": None})
    return deployment_id


def update_deployment(db_path: Path, *, station_id: str, columns: dict[str, Any]) -> str | None:
    """Correct the open deployment's details (its start stays); None when no deployment is open."""
    with writing(db_path) as db:
        row = db.execute("SELECT deployment_id FROM deployments WHERE station_id = ? AND end IS NULL "
                         "ORDER BY start DESC LIMIT 1", [station_id]).fetchone()
        if row is None:
            return None
        db.table("deployments").update(row[0], columns)
    return row[0]


def end_deployment(db_path: Path, *, station_id: str, now: datetime | None = None) -> str | None:
    """End the open deployment now; returns its id (None when none was open)."""
    now = now or utc_now()
    with writing(db_path) as db:
        row = db.execute("SELECT deployment_id FROM deployments WHERE station_id = ? AND end IS NULL "
                         "ORDER BY start DESC LIMIT 1", [station_id]).fetchone()
        if row is None:
            return None
        db.execute("UPDATE deployments SET end = ? WHERE station_id = ? AND end IS NULL", [iso(now), station_id])
    return row[0]


def mark_wrong(db_path: Path, event_id: str, *, wrong: bool, by: str | None = None) -> bool:
    """Mark a sequence's classification as wrong (or take the mark back); False if there is no such sequence."""
    with writing(db_path) as db:
        if db.execute("SELECT 1 FROM events WHERE event_id = ?", [event_id]).fetchone() is None:
            return False
        if wrong:
            db.table("event_reviews").upsert({"event_id": event_id, "verdict": "wrong", "reviewed_at": iso(utc_now()),
                                        "reviewed_by": by}, pk="event_id")
        else:
            db.execute("DELETE FROM event_reviews WHERE event_id = ?", [event_id])
    return True
