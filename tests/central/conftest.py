"""Fixtures of the central-server tests: a private schema on the local PostgreSQL, a private Mosquitto,
ingest workers. Everything skips, with the reason, when psycopg or the server is missing."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.central.config import CentralConfig, DatabaseSection, validate_central_config
from station.devtools.mosquitto import PrivateBroker, mosquitto_binary

try:
    import psycopg
except ImportError:  # the pure tests (decoding, alerts) still run
    psycopg = None

PG_URL = os.environ.get("TRAPD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
# The central broker must queue a flood for the ingest group, not drop it at Mosquitto's default of 1000.
CENTRAL_BROKER_CONFIG = "max_queued_messages 0\n"


def needs_frictionless() -> None:
    pytest.importorskip("frictionless", reason="validating Camtrap DP needs frictionless: pip install 'trapd[central]'")


@pytest.fixture(scope="session")
def postgres_url() -> str:
    if psycopg is None:
        pytest.skip("central tests need psycopg 3: pip install 'trapd[central]'")
    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} (set TRAPD_TEST_PG_URL): {str(exc).strip()[:200]}")
    return PG_URL


@pytest.fixture
def database(postgres_url: str) -> Iterator[DatabaseSection]:
    """A schema of its own on the local server, dropped at the end."""
    from station.central.db import drop_schema

    section = DatabaseSection(url=postgres_url, schema=f"test_{uuid.uuid4().hex[:12]}")
    yield section
    drop_schema(section)


@pytest.fixture
def store(database: DatabaseSection):
    from station.central.db import open_store

    conn = open_store(database)
    yield conn
    conn.close()


@pytest.fixture
def central_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (Debian package mosquitto)")
    with PrivateBroker(workdir=tmp_path / "broker", extra_config=CENTRAL_BROKER_CONFIG) as running:
        yield running


def make_central_config(database: DatabaseSection, broker: PrivateBroker | None = None, **sections: dict
                        ) -> CentralConfig:
    raw: dict = {"database": {"url": database.url, "schema": database.db_schema},
                 "mqtt": {"port": broker.port if broker else 1883, "client_id": f"t{uuid.uuid4().hex[:8]}"}}
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return validate_central_config(raw, source="test")


@contextlib.contextmanager
def ingest_workers(config: CentralConfig, count: int = 2):
    from station.central.ingest import IngestWorker

    workers = []
    try:
        for n in range(count):
            workers.append(IngestWorker(config, name=str(n + 1)).start())
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def count(conn, sql: str, params: list | None = None) -> int:
    return conn.execute(sql, params or []).fetchone()[0]
