"""Opens the station database: WAL, synchronous=FULL, integrity check, ordered migrations with a backup.

Power can vanish at any moment on a field unit. Every transaction here carries something promised to a
user (a detection, an outbox row), so every commit is durable (synchronous=FULL). WAL lets the status
command and the uplink read while the pipeline writes.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from station.errors import StoreError
from station.store.schema import MIGRATIONS

log = logging.getLogger(__name__)

RECOVERY_HINT = ("stop trapd, keep a copy of the file, then run `trapd store recover` (it salvages what "
                 "is readable into a new database and keeps the media)")


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A write transaction that takes the write lock up front (BEGIN IMMEDIATE).

    A deferred BEGIN that reads first and writes later fails at once with "database is locked" when another
    connection committed in between (WAL snapshot conflict; the busy timeout does not apply). Taking the
    lock first makes a writer wait its turn instead. sqlite-utils calls inside nest as savepoints, and so
    does a write_transaction opened inside another one: several store steps can then commit as one
    (``trapd replay`` stores a whole imported sequence that way).
    """
    if db.conn.in_transaction:
        with db.atomic():  # a savepoint in the caller's transaction, which commits or rolls back the lot
            yield db
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.execute("COMMIT")


def connect(path: Path, *, readonly: bool = False) -> sqlite_utils.Database:
    """A connection with the station's pragmas; usable from the thread that opened it only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, check_same_thread=False)
        else:
            conn = sqlite3.connect(path, timeout=10)
        conn.execute("PRAGMA busy_timeout = 10000")
        if not readonly:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            # Keep the WAL small on an SD card: checkpoint every ~1 MB and truncate the file after.
            conn.execute("PRAGMA wal_autocheckpoint = 256")
            conn.execute("PRAGMA journal_size_limit = 1048576")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open the database ({exc}); {RECOVERY_HINT}") from exc
    return sqlite_utils.Database(conn)


def check_integrity(db: sqlite_utils.Database, path: Path) -> None:
    try:
        rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: database is corrupt ({exc}); {RECOVERY_HINT}") from exc
    problems = [r[0] for r in rows if r[0] != "ok"]
    if problems:
        raise StoreError(f"{path}: database is corrupt ({problems[0]}); {RECOVERY_HINT}")


def migrate(db: sqlite_utils.Database, path: Path) -> int:
    """Apply pending migrations, each in its own transaction; back the file up first. Returns the version."""
    current = db.execute("PRAGMA user_version").fetchone()[0]
    target = len(MIGRATIONS)
    if current > target:
        raise StoreError(f"{path}: schema version {current} is newer than this trapd ({target}); upgrade trapd")
    if 0 < current < target:
        backup = path.with_name(f"{path.name}.v{current}.bak")
        log.info("backing up %s to %s before migrating", path, backup)
        with sqlite3.connect(backup) as target_conn:
            db.conn.backup(target_conn)
    for version in range(current + 1, target + 1):
        with write_transaction(db):
            for statement in _statements(MIGRATIONS[version - 1]):
                db.conn.execute(statement)
            db.conn.execute(f"PRAGMA user_version = {version}")
        log.info("database %s migrated to schema version %d", path, version)
    return target


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def open_store_db(path: Path) -> sqlite_utils.Database:
    """Connect, check integrity, migrate: what every writer does once at start."""
    db = connect(path)
    check_integrity(db, path)
    migrate(db, path)
    return db
