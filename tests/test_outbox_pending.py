"""One meaning of "still to send" (station/store/outbox.py PENDING): the uplink, retention, `trapd status` and
telemetry agree on it after some messages were sent and some dropped for space."""

from __future__ import annotations

import json
import sqlite3

from station.daemon.control import StationSnapshot
from station.daemon.telemetry import telemetry_message
from station.store import retention
from station.store.media import MediaStore
from station.store.outbox import PENDING, OutboxReader, pending_by_kind, pending_count
from station.store.queries import status_summary
from station.store.repo import OutboxMessage, StationStore
from station.wire.ids import uuid7

KINDS = ["detection", "detection", "media", "media", "media", "telemetry", "alert"]


def filled_outbox(tmp_path):
    db_path = tmp_path / "station.db"
    store = StationStore(db_path)
    ids = []
    for kind in KINDS:
        message = OutboxMessage(message_id=uuid7(), kind=kind, priority=2, topic=kind, payload=b"{}",
                                content_type="application/json")
        store.enqueue(message)
        ids.append(message.message_id)
    reader = OutboxReader(db_path)
    reader.mark_sent([ids[0], ids[2]])  # one detection and one thumbnail acknowledged
    report = retention.enforce(store, MediaStore(tmp_path / "media"), min_free_bytes=1, free_bytes=lambda: 0)
    assert report.thumbnails_dropped == 2  # the two unsent thumbnails; the sent one is not touched
    store.close()
    return db_path, reader


def test_uplink_retention_status_and_telemetry_count_the_same_pending_messages(tmp_path):
    db_path, reader = filled_outbox(tmp_path)
    expected = {"alert": 1, "detection": 1, "telemetry": 1}
    try:
        assert reader.depth() == 3
        assert sorted(m.kind for m in reader.pending(100)) == ["alert", "detection", "telemetry"]
    finally:
        reader.close()
    with sqlite3.connect(db_path) as conn:
        assert pending_by_kind(conn) == expected and pending_count(conn) == 3
    assert status_summary(db_path, tmp_path / "media")["outbox_pending"] == expected
    snapshot = StationSnapshot(station_id="llnp-0412", park="LLNP", deployment_id=None, board={}, disk_free=1 << 30,
                               disk_total=1 << 31, disk_low=False, mqtt_connected=True, lora=None, queue_depths={},
                               model="test", uptime_s=1.0, counters={}, warmup_left_s=0.0)
    message = telemetry_message(snapshot, db_path=db_path)
    assert json.loads(message.payload)["outbox_pending"] == 3


def test_the_pending_condition_is_the_one_the_outbox_index_is_built_on(tmp_path):
    StationStore(tmp_path / "station.db").close()
    with sqlite3.connect(tmp_path / "station.db") as conn:
        (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'outbox_pending'").fetchone()
        plan = " ".join(row[3] for row in conn.execute(
            f"EXPLAIN QUERY PLAN SELECT message_id FROM outbox WHERE {PENDING} ORDER BY priority, message_id"))
    assert sql.endswith(f"WHERE {PENDING}")
    assert "outbox_pending" in plan
