"""Disk pressure: image files go (blank and delivered first); records and unsent detections never do."""

from __future__ import annotations

import sqlite3

from station.store import retention
from station.store.media import MediaStore
from station.store.repo import StationStore
from tests.conftest import make_config, running_station


def make_sequences(tmp_path):
    config = make_config(tmp_path / "data", mqtt={"thumbnail_max_bytes": 8000})
    with running_station(config) as app:
        for subject in ("blank", "amur_tiger", "human"):
            app.parts.trigger_source.fire(subject)
            assert app.wait_idle(30)
    with sqlite3.connect(app.db_path) as conn:
        events = [r[0] for r in conn.execute("SELECT event_id FROM events ORDER BY start")]
        # the blank and the tiger sequences were delivered; the human one was not
        conn.executemany("UPDATE outbox SET sent_at = '2026-01-01T00:00:00Z' WHERE event_id = ?",
                         [(events[0],), (events[1],)])
    return app, events


def test_retention_deletes_delivered_images_first_and_keeps_every_record(tmp_path):
    app, (blank, tiger, human) = make_sequences(tmp_path)
    media = MediaStore(app.config.data_dir / "media")
    files_before = {p.name for p in media.root.rglob("*.jpg")}
    store = StationStore(app.db_path)
    deleted: list[int] = []

    def free() -> int:  # pretend each deleted file frees a lot; need 3 deletions' worth
        deleted.append(len(list(media.root.rglob("*.jpg"))))
        return 10**9 if len(files_before) - deleted[-1] >= 3 else 0

    report = retention.enforce(store, media, min_free_bytes=10**9, free_bytes=free)
    store.close()
    with sqlite3.connect(app.db_path) as conn:
        gone = dict(conn.execute("SELECT event_id, count(*) FROM media WHERE file_deleted_at IS NOT NULL "
                                 "GROUP BY event_id").fetchall())
        assert conn.execute("SELECT count(*) FROM observations").fetchone()[0] == 3
        assert conn.execute("SELECT count(*) FROM media").fetchone()[0] == 6
    assert gone.get(blank) == 2 and gone.get(tiger, 0) >= 1 and human not in gone
    assert report.files_deleted == len(files_before) - len(list(media.root.rglob("*.jpg")))


def test_when_nothing_delivered_is_left_unsent_thumbnails_go_but_detections_stay(tmp_path):
    app, (blank, tiger, human) = make_sequences(tmp_path)
    media = MediaStore(app.config.data_dir / "media")
    store = StationStore(app.db_path)
    report = retention.enforce(store, media, min_free_bytes=10**9, free_bytes=lambda: 0)
    store.close()
    with sqlite3.connect(app.db_path) as conn:
        human_files = conn.execute("SELECT count(*) FROM media WHERE event_id = ? AND file_deleted_at IS NULL",
                                   [human]).fetchone()[0]
        dropped = conn.execute("SELECT kind, dropped_reason FROM outbox WHERE dropped_reason IS NOT NULL").fetchall()
        unsent_detections = conn.execute("SELECT count(*) FROM outbox WHERE kind = 'detection' AND sent_at IS NULL "
                                         "AND dropped_reason IS NULL").fetchone()[0]
        logged = conn.execute("SELECT detail FROM station_log WHERE kind = 'retention'").fetchall()
    assert human_files == 2  # the undelivered sequence keeps its images
    assert [k for k, _ in dropped] == ["media"] and report.thumbnails_dropped == 1
    assert unsent_detections == 1
    assert logged and "records kept" in logged[0][0]
