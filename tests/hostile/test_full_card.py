"""Issue 14, item 9: a full card with the broker up (3 MB tmpfs, PIR every 0.7 s). Retention used to stop at
`PRAGMA wal_checkpoint(TRUNCATE)` ("database or disk is full") before deleting anything: free space stayed
at 0, frames were lost and delivered sequences kept their images. Needs root for the tmpfs (as in CI)."""

from __future__ import annotations

import os
import sqlite3
import time

import pytest

from tests.conftest import make_config, running_station, wait_until
from tests.test_disk_full import small_disk


def _store_state(db) -> dict:
    with sqlite3.connect(db) as conn:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "media": one("SELECT count(*) FROM media"),
            "deleted": one("SELECT count(*) FROM media WHERE file_deleted_at IS NOT NULL"),
            "deleted_undelivered": one(
                "SELECT count(*) FROM media m WHERE m.file_deleted_at IS NOT NULL AND NOT EXISTS ("
                "SELECT 1 FROM outbox b WHERE b.event_id = m.event_id AND b.kind = 'detection' "
                "AND b.sent_at IS NOT NULL)"),
            "events": one("SELECT count(*) FROM events"),
            "unsent_detections": one("SELECT count(*) FROM outbox WHERE kind = 'detection' AND sent_at IS NULL"),
            "frames_per_event": [row[0] for row in conn.execute(
                "SELECT (SELECT count(*) FROM media m WHERE m.event_id = e.event_id) FROM events e ORDER BY start")],
        }


def _fill(path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_full_card_with_the_broker_up_keeps_storing_new_frames(tmp_path, broker):
    with small_disk(tmp_path / "card", 3 * 1024) as card:
        config = make_config(card / "data", broker=broker, storage={"min_free_mb": 1},
                             capture={"quiet_period_s": 0.0, "burst_frames": 3},
                             camera={"width": 640, "height": 480, "jpeg_quality": 95},
                             mqtt={"thumbnail_max_bytes": 0})
        with running_station(config) as app:
            free = os.statvfs(card)  # something else filled the card: 600 KB left, about two bursts
            (card / "ballast").write_bytes(b"\0" * max(0, free.f_bavail * free.f_frsize - 600_000))
            for i in range(24):  # PIR every 0.7 s (the scenario's pace, not a wait for the station)
                app.parts.trigger_source.fire(("amur_tiger", "blank", "wild_boar")[i % 3])
                time.sleep(0.7)
            assert app.wait_idle(60)  # before: writes retried "database or disk is full" for minutes
            delivered = wait_until(lambda: _store_state(app.db_path)["unsent_detections"] == 0, timeout=30,
                                   interval=0.1, message="every detection delivered")
            assert app.healthy()
            state = _store_state(app.db_path)
            lost = app.stats.get("media_write_errors")
            failed = app.stats.get("store_ops_failed")
        print(f"full card: {state}, frames lost {lost}, store writes dropped {failed}")
    assert delivered and state["events"] == 24 and failed == 0
    assert state["deleted"] > 0  # delivered images went
    assert state["deleted_undelivered"] == 0  # nothing undelivered lost
    # new frames are stored to the end: every sequence keeps images. On 600 KB a burst can outrun the delivery
    # of the one before, and the last 256 KB stay the database's, so a burst may keep 2 of its 3 frames.
    assert state["media"] == 24 * 3 - lost and min(state["frames_per_event"]) >= 1
