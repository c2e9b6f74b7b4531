"""The outbox as an uplink sees it: pending messages in priority order, marked sent only on acknowledgement.

``PENDING`` is what "still to send" means everywhere (uplinks, LoRa, retention, status, telemetry, the page):
not acknowledged by the broker and not dropped for space. It is the condition of the partial index
``outbox_pending`` (schema migration 1), so queries that use it are served by that index.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Set as AbstractSet
from pathlib import Path

from station.store.db import connect, write_transaction
from station.wire.ids import iso, utc_now

#: SQL condition on ``outbox`` rows: the message is still to send.
PENDING = "sent_at IS NULL AND dropped_reason IS NULL"


def pending_count(conn: sqlite3.Connection) -> int:
    """How many messages are still to send."""
    return int(conn.execute(f"SELECT count(*) FROM outbox WHERE {PENDING}").fetchone()[0])


def pending_by_kind(conn: sqlite3.Connection) -> dict[str, int]:
    """How many messages of each kind are still to send (kinds with none are left out)."""
    return dict(conn.execute(f"SELECT kind, count(*) FROM outbox WHERE {PENDING} GROUP BY kind").fetchall())


@dataclasses.dataclass(frozen=True)
class PendingMessage:
    message_id: str
    kind: str
    priority: int
    topic: str
    payload: bytes
    content_type: str
    correlation_data: bytes | None = None


class OutboxReader:
    """One uplink's connection to the outbox. Use from the uplink's own thread."""

    def __init__(self, db_path: Path) -> None:
        self._db = connect(db_path)

    def close(self) -> None:
        self._db.conn.close()

    def pending(self, limit: int, *, exclude: AbstractSet[str] = frozenset()) -> list[PendingMessage]:
        """Up to ``limit`` unsent messages, people and big cats first, oldest first within a priority."""
        rows = self._db.execute(
            "SELECT message_id, kind, priority, topic, payload, content_type, correlation_data FROM outbox "
            f"WHERE {PENDING} ORDER BY priority, message_id LIMIT ?",
            [limit + len(exclude)]).fetchall()
        found = [PendingMessage(*row) for row in rows if row[0] not in exclude]
        return found[:limit]

    def mark_sent(self, message_ids: list[str]) -> None:
        """Record broker acknowledgements (one durable transaction for the whole batch)."""
        if not message_ids:
            return
        now = iso(utc_now())
        with write_transaction(self._db):
            self._db.conn.executemany("UPDATE outbox SET sent_at = ? WHERE message_id = ? AND sent_at IS NULL",
                                      [(now, mid) for mid in message_ids])

    def count_attempt(self, message_ids: list[str]) -> None:
        if message_ids:
            with write_transaction(self._db):
                self._db.conn.executemany("UPDATE outbox SET attempts = attempts + 1 WHERE message_id = ?",
                                          [(mid,) for mid in message_ids])

    def depth(self) -> int:
        return pending_count(self._db.conn)
