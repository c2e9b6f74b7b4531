"""`trapd central demo`: the central side end to end on a simulated study, like `trapd demo` for a station.

A private Mosquitto, a schema of its own on the given PostgreSQL (dropped afterwards unless kept), an ingest
worker on the shared subscription, the scenario's stations publishing through the broker (MQTT records,
LoRa summaries as ChirpStack events, duplicates), then each park's catalogue, the experts' merges, and the
joint report — checked against the scenario's truth.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from station.central.catalogue import Decision, import_catalogue, merge
from station.central.config import DatabaseSection, validate_central_config
from station.central.db import drop_schema, open_store
from station.central.fleet import FleetPublisher
from station.central.ingest import IngestWorker
from station.central.registry import register_stations
from station.central.report import build_report
from station.central.transboundary import Transboundary
from station.devtools.mosquitto import PrivateBroker
from station.errors import StationError

EXPERTS = Decision("joint LLNP-TLNP identification group", "same stripe/rosette pattern on both sides")


@dataclasses.dataclass
class CentralDemoResult:
    report: dict[str, Any]
    truth: dict[str, Any]
    schema: str

    @property
    def matches(self) -> bool:
        return all(self.report[key] == value for key, value in self.truth.items())


def run_demo(scenario_name: str, *, database: str, keep: bool = False,
             progress: Callable[[str], None] = lambda line: None) -> CentralDemoResult:
    if scenario_name != "transboundary-2014":
        raise StationError(f"unknown scenario {scenario_name!r}: the one there is is transboundary-2014")
    scenario = Transboundary()
    schema = f"demo_{uuid.uuid4().hex[:10]}"
    section = DatabaseSection(url=database, db_schema=schema)
    with tempfile.TemporaryDirectory(prefix="trapd-central-demo-") as tmp, \
            PrivateBroker(workdir=Path(tmp) / "broker", extra_config="max_queued_messages 0\n") as broker:
        config = validate_central_config({"database": {"url": database, "schema": schema},
                                          "mqtt": {"port": broker.port, "client_id": "central-demo"},
                                          "report": {"border": scenario.border}}, source="demo")
        try:
            with open_store(section) as conn:
                register_stations(conn, scenario.registry())
                progress(f"schema {schema}: {len(scenario.stations)} LLNP and TLNP stations registered")
                _ingest(scenario, config, broker, conn, progress)
                _catalogue(scenario, conn, Path(tmp), progress)
                report = build_report(conn, border=config.report.border)
        finally:
            if not keep:
                drop_schema(section)
    return CentralDemoResult(report, scenario.truth(), schema)


def _ingest(scenario: Transboundary, config, broker: PrivateBroker, conn, progress: Callable[[str], None]) -> None:
    publications = scenario.publications()
    expected = len({(p.topic, p.payload) for p in publications if p.kind == "detection"})
    worker = IngestWorker(config, name="demo").start()
    try:
        with FleetPublisher(broker.host, broker.port, connections=2) as fleet:
            fleet.run(publications, speedup=0.0)
        progress(f"published {len(publications)} messages (records, LoRa summaries, duplicates)")
        deadline = time.monotonic() + 120
        while _full_records(conn) < expected and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        worker.stop()
    stored = _full_records(conn)
    if stored < expected:
        raise StationError(f"ingest stored {stored} of {expected} detection records within 120 s")
    progress(f"ingested {stored} sightings of tigers and leopards")


def _full_records(conn) -> int:
    return conn.execute("SELECT count(*) FROM observations WHERE source = 'station'").fetchone()[0]


def _catalogue(scenario: Transboundary, conn, folder: Path, progress: Callable[[str], None]) -> None:
    paths = scenario.write_catalogues(folder)
    for country, park in (("RU", "LLNP"), ("CN", "TLNP")):
        done = import_catalogue(conn, paths[country], country=country, park=park,
                                decision=Decision(f"{park} catalogue keeper", "park catalogue import"))
        progress(f"{park} catalogue: {done['sightings']} sightings under {done['individuals_created']} codes")
    merges = scenario.merges()
    for keep, other in merges:
        merge(conn, keep, other, EXPERTS)
    progress(f"experts merged {len(merges)} animals known under a Russian and a Chinese code")
