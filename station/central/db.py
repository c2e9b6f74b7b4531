"""PostgreSQL connections and ordered migrations for the central store (psycopg 3).

The driver is imported on first use, so the station (which never needs it) does not depend on it. Every
connection puts the configured schema first on its search_path; migrations run under an advisory lock so
two workers starting together do not race.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from station.central.config import DatabaseSection
from station.central.errors import DatabaseError
from station.central.migrations import MIGRATIONS

if TYPE_CHECKING:
    import psycopg

LOCK_TIMEOUT_S = 30
DRIVER_HINT = "the central server needs psycopg 3: pip install 'trapd[central]' (or pip install 'psycopg[binary]')"


def scalar(conn: psycopg.Connection, query: str, params: Sequence[Any] = ()) -> Any:
    """The first value of the row a query always yields (an aggregate, or a row this transaction wrote)."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise DatabaseError(f"the query {query[:60]!r}... returned no row")
    return row[0]


def driver() -> Any:
    try:
        import psycopg
    except ImportError:
        raise DatabaseError(DRIVER_HINT) from None
    return psycopg


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def connect(database: DatabaseSection, *, autocommit: bool = True) -> psycopg.Connection:
    """A connection in autocommit mode: every ``with conn.transaction()`` block is one real transaction."""
    psycopg = driver()
    try:
        conn = psycopg.connect(database.url, autocommit=autocommit, connect_timeout=5,
                               application_name=f"trapd-central:{database.db_schema}")
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(f"cannot connect to PostgreSQL at {redacted(database.url)} ({first}); start the "
                            f"server or fix [database] url in central.toml") from exc
    schema = psycopg.sql.Identifier(database.db_schema)
    conn.execute(psycopg.sql.SQL("SET search_path TO {}, public").format(schema))
    # no wait on a lock is endless: a batch that times out is retried, a command reports it
    conn.execute(psycopg.sql.SQL("SET lock_timeout = {}").format(psycopg.sql.Literal(f"{LOCK_TIMEOUT_S}s")))
    if not autocommit:
        conn.commit()
    return conn


def migrate(conn: psycopg.Connection, database: DatabaseSection) -> int:
    """Create the schema and apply pending migrations in one transaction; returns the schema version."""
    sql = driver().sql
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"trapd-migrate:{database.db_schema}"])
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(database.db_schema)))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                     "applied_at timestamptz NOT NULL DEFAULT now())")
        current = scalar(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations")
        if current > len(MIGRATIONS):
            raise DatabaseError(f"schema {database.db_schema} is at version {current}, newer than this trapd "
                                f"({len(MIGRATIONS)}); upgrade trapd")
        for version in range(current + 1, len(MIGRATIONS) + 1):
            conn.execute(MIGRATIONS[version - 1])
            conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", [version])
    return len(MIGRATIONS)


def open_store(database: DatabaseSection) -> psycopg.Connection:
    """Connect and migrate: what every command and worker does once at start."""
    conn = connect(database)
    try:
        migrate(conn, database)
    except Exception:
        conn.close()
        raise
    return conn


def month_of(moment: dt.datetime) -> tuple[int, int]:
    return moment.year, moment.month


def existing_telemetry_partitions(conn: psycopg.Connection) -> set[tuple[int, int]]:
    rows = conn.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                        "WHERE i.inhparent = 'telemetry'::regclass").fetchall()
    found = set()
    for (name,) in rows:
        match = re.fullmatch(r"telemetry_y(\d{4})m(\d{2})", name)
        if match:
            found.add((int(match[1]), int(match[2])))
    return found


def ensure_telemetry_partitions(conn: psycopg.Connection, months: set[tuple[int, int]]) -> None:
    """Create the monthly telemetry partitions that are missing (own transaction, under a lock)."""
    sql = driver().sql
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"trapd-telemetry-partitions:{schema_of(conn)}"])
        have = existing_telemetry_partitions(conn)
        for year, month in sorted(months - have):
            low = dt.date(year, month, 1)
            high = dt.date(year + (month == 12), month % 12 + 1, 1)
            conn.execute(sql.SQL("CREATE TABLE {} PARTITION OF telemetry FOR VALUES FROM ({}) TO ({})").format(
                sql.Identifier(f"telemetry_y{year:04d}m{month:02d}"), sql.Literal(low.isoformat()),
                sql.Literal(high.isoformat())))


def schema_of(conn: psycopg.Connection) -> str:
    return str(scalar(conn, "SELECT current_schema()"))


def drop_schema(database: DatabaseSection) -> None:
    """Remove the schema and everything in it (tests and benchmarks), ending trapd sessions still using it."""
    sql = driver().sql
    conn = connect(database, autocommit=True)
    try:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s "
                     "AND pid <> pg_backend_pid()", [f"trapd-central:{database.db_schema}"])
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(database.db_schema)))
    finally:
        conn.close()
