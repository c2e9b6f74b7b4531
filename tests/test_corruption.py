"""A corrupt database is detected at start with a clear message, and `trapd store recover` salvages it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from tests.conftest import make_config, running_station
from tests.crash_tools import store_problems, write_station_config


def make_station_data(tmp_path, sequences: int = 12):
    config = make_config(tmp_path / "data", capture={"quiet_period_s": 0.0})
    with running_station(config) as app:
        for i in range(sequences):
            app.parts.trigger_source.fire(("amur_tiger", "blank", "human")[i % 3])
            assert app.wait_idle(30)
    return app.db_path


def trapd(*args, cwd):
    return subprocess.run([sys.executable, "-m", "station", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_corrupt_page_is_detected_at_start_and_recovered(tmp_path):
    db = make_station_data(tmp_path)
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        media_pages = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'media'").fetchone()[0]
    data = bytearray(db.read_bytes())
    start = (media_pages - 1) * page_size
    data[start:start + page_size] = b"\xde\xad" * (page_size // 2)  # one page of garbage (a torn SD write)
    db.write_bytes(bytes(data))
    config = write_station_config(tmp_path, station={"data_dir": "data"})
    result = trapd("run", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 1 and "database is corrupt" in result.stderr and "trapd store recover" in result.stderr
    assert "Traceback" not in result.stderr
    recovered = trapd("store", "recover", "-c", str(config), cwd=tmp_path)
    assert recovered.returncode == 0, recovered.stderr
    assert "damaged file kept as" in recovered.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        observations = conn.execute("SELECT count(*) FROM observations").fetchone()[0]
    assert events == 12 and observations == 12  # the damage was in the media table only
    assert list(tmp_path.glob("data/station.db.damaged-*"))
    with running_station(make_config(tmp_path / "data")) as app:
        adopted = app.parts.recovery.files_adopted
    assert adopted > 0  # images whose rows sat on the damaged page are back
    # the per-frame scores of those images were on the lost page too; the sequence-level observations are intact
    assert [p for p in store_problems(tmp_path / "data") if "unclassified media" not in p] == []
