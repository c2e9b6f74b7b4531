"""Helpers for crash tests: run `trapd run` as a real process and check the store's invariants after."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from PIL import Image

from station.config.file import default_config_text
from station.fsutil import write_atomic


def write_station_config(folder: Path, **overrides: dict) -> Path:
    base = {"station": {"id": "crash-station", "data_dir": "data"},
            "camera": {"width": 320, "height": 240},
            "capture": {"burst_frames": 4, "burst_interval_s": 0.05, "quiet_period_s": 0.2},
            "mqtt": {"enabled": False}}
    for name, values in overrides.items():
        base.setdefault(name, {}).update(values)
    path = folder / "station.toml"
    write_atomic(path, default_config_text(base).encode())
    return path


def start_daemon(config: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "station", "--log-level", "warning", "run", "-c", str(config)],
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)


def media_rows(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM media").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def settled(db: Path) -> bool:
    """Every sequence is closed and every frame classified (recovery finished the ones a crash left open)."""
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            open_events = conn.execute("SELECT count(*) FROM events WHERE state = 'open'").fetchone()[0]
            unclassified = conn.execute("SELECT count(*) FROM media WHERE top_species IS NULL").fetchone()[0]
    except sqlite3.OperationalError:
        return False
    return open_events == 0 and unclassified == 0


def detection_rows(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT count(*) FROM outbox WHERE kind = 'detection'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


#: What `trapd run` prints once ``app.start()`` returned; it sets its SIGTERM handler before that.
RUNNING = b"running; Ctrl-C to stop"


def runs_started(log: Path) -> int:
    """How many runs said they were running in ``log`` (start_daemon appends every run to one log)."""
    return log.read_bytes().count(RUNNING) if log.exists() else 0


def stop_daemon(process: subprocess.Popen, timeout: float = 30.0) -> int:
    """SIGTERM, then the exit code: 0 for a clean stop; a stop that outlasts ``timeout`` raises TimeoutExpired,
    and a process that died of the signal (-15: it had no handler yet) is not a clean stop."""
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=timeout)


def kill_hard(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def store_problems(data_dir: Path) -> list[str]:
    """Every invariant a crash must not break; an empty list means the store is whole."""
    problems = []
    media_root = data_dir / "media"
    temp = list(media_root.rglob("*.tmp"))
    if temp:
        problems.append(f"{len(temp)} half-written temp files left")
    with sqlite3.connect(data_dir / "station.db") as conn:
        paths = {r[0] for r in conn.execute("SELECT file_path FROM media")}
        on_disk = {p.relative_to(media_root).as_posix() for p in media_root.rglob("*.jpg")}
        if on_disk - paths:
            problems.append(f"{len(on_disk - paths)} files without a row")
        if paths - on_disk:
            problems.append(f"{len(paths - on_disk)} rows without a file")
        checks = {
            "open sequences": "SELECT count(*) FROM events WHERE state = 'open'",
            "closed sequences without observations": "SELECT count(*) FROM events e WHERE NOT EXISTS "
                "(SELECT 1 FROM observations o WHERE o.event_id = e.event_id)",
            "sequences without exactly one detection message": "SELECT count(*) FROM events e WHERE "
                "(SELECT count(*) FROM outbox b WHERE b.event_id = e.event_id AND b.kind = 'detection') != 1",
            "duplicate observations": "SELECT count(*) FROM (SELECT event_id, coalesce(species_key, '') "
                "FROM observations GROUP BY 1, 2 HAVING count(*) > 1)",
            "unclassified media": "SELECT count(*) FROM media WHERE top_species IS NULL",
        }
        for name, sql in checks.items():
            count = conn.execute(sql).fetchone()[0]
            if count:
                problems.append(f"{count} {name}")
    for path in media_root.rglob("*.jpg"):
        try:
            with Image.open(path) as image:
                image.load()
        except OSError:
            problems.append(f"unreadable {path.name}")
    return problems
