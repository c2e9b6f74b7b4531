"""`trapd store recover`: salvage what is readable from a corrupt station database.

The damaged file is kept (renamed with a timestamp); a new database is built with the current schema and
every row that can still be read is copied into it, table by table and, where a table is damaged, rowid
range by rowid range, so one bad page costs the rows on that page, not the table. Media files are never
touched; start-up recovery then adopts any file whose row was lost.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import time
from pathlib import Path

from station.errors import StoreError
from station.store.db import open_store_db

_CHUNK = 256


@dataclasses.dataclass
class SalvageReport:
    damaged_copy: Path
    copied: dict[str, int]
    lost_ranges: dict[str, int]


def salvage(db_path: Path) -> SalvageReport:
    if not db_path.is_file():
        raise StoreError(f"{db_path}: no database to recover")
    damaged = db_path.with_name(f"{db_path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
    db_path.rename(damaged)
    for suffix in ("-wal", "-shm"):
        side = db_path.with_name(db_path.name + suffix)
        if side.exists():
            side.rename(damaged.with_name(damaged.name + suffix))
    fresh = open_store_db(db_path)
    source = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True)
    report = SalvageReport(damaged, {}, {})
    fresh.conn.execute("PRAGMA foreign_keys = OFF")  # rows may point at rows lost with a damaged page
    try:
        tables = [r[0] for r in fresh.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            report.copied[table], report.lost_ranges[table] = _copy_table(source, fresh.conn, table)
        fresh.conn.commit()
    finally:
        source.close()
        fresh.conn.close()
    return report


def _copy_table(source: sqlite3.Connection, target: sqlite3.Connection, table: str) -> tuple[int, int]:
    columns = [r[1] for r in target.execute(f"PRAGMA table_info({table})")]
    try:
        readable = [r[1] for r in source.execute(f"PRAGMA table_info({table})")]
        top = source.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0
    except sqlite3.DatabaseError:
        return 0, 1
    shared = [c for c in columns if c in readable]
    names = ", ".join(shared)
    insert = f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({', '.join('?' * len(shared))})"
    copied = lost = 0
    for start in range(0, top + 1, _CHUNK):
        try:
            rows = source.execute(f"SELECT {names} FROM {table} WHERE rowid >= ? AND rowid < ?",
                                  [start, start + _CHUNK]).fetchall()
        except sqlite3.DatabaseError:
            lost += 1
            continue
        target.executemany(insert, rows)
        copied += len(rows)
    return copied, lost
