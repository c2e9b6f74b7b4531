"""The central store on PostgreSQL: migrations, idempotent writes, the LoRa join, individuals."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from station.central.config import AlertsSection, Settlement
from station.central.db import existing_telemetry_partitions, migrate, open_store
from station.central.errors import BadMessage, NotFoundError, RegistryError
from station.central.individuals import Assignment, set_individual
from station.central.registry import StationEntry, register_stations
from station.central.store import IngestWriter, record_alerts
from tests.central.conftest import count
from tests.central.helpers import AT, detection, lora_summary

STATION = StationEntry("tlnp-0001", "TLNP", "CN", 43.02, 130.9, dev_eui="70b3d57ed0000001")
ALERTS = AlertsSection(settlements=[Settlement(name="V", latitude=43.03, longitude=130.9)])


@pytest.fixture
def writer(store) -> IngestWriter:
    register_stations(store, [STATION])
    return IngestWriter(store, ALERTS)


def write(writer: IngestWriter, record):
    with writer.conn.transaction():
        written = writer.write(record, AT)
        written.alerts = record_alerts(writer.conn, written.alerts)
    return written


def test_migrations_are_idempotent_and_versioned(store, database):
    from station.central.migrations import MIGRATIONS

    assert migrate(store, database) == len(MIGRATIONS) >= 3
    assert count(store, "SELECT count(*) FROM schema_migrations") == len(MIGRATIONS)
    open_store(database).close()  # a second worker starting later


def test_a_repeated_detection_is_stored_once(writer):
    message = detection("tlnp-0001", ["wild_boar", "roe_deer"])
    assert write(writer, message).stored
    assert not write(writer, message).stored
    assert count(writer.conn, "SELECT count(*) FROM events") == 1
    assert count(writer.conn, "SELECT count(*) FROM observations") == 2


def test_a_detection_1_1_names_every_model_and_keeps_the_count(writer):
    from station.wire.messages import ModelRef

    base = detection("tlnp-0001", ["wild_boar"])
    refs = [ModelRef(name="megadetector-lite", version="1"), ModelRef(name="tlnp-crops", version="2")]
    boxed = base.detections[0].model_copy(update={"count": 3, "box": [0.1, 0.2, 0.3, 0.4]})
    message = base.model_copy(update={"schema_": "detection/1.1", "detections": [boxed], "model": refs[0],
                                      "models": refs})
    assert write(writer, message).stored
    assert writer.conn.execute("SELECT model FROM events").fetchone()[0] == "megadetector-lite 1 + tlnp-crops 2"
    assert writer.conn.execute("SELECT count, classified_by, box FROM observations").fetchone() == (
        3, "megadetector-lite 1 + tlnp-crops 2", [0.1, 0.2, 0.3, 0.4])


def test_the_central_export_has_the_best_box_as_a_media_level_observation(writer, tmp_path):
    import csv

    from station.camtrapdp.validate import validate_package
    from station.central.config import ExportSection
    from station.central.export import Selection, export_central
    from station.wire.messages import ModelRef

    base = detection("tlnp-0001", ["wild_boar"])
    ref = ModelRef(name="megadetector-lite", version="1")
    boxed = base.detections[0].model_copy(update={"count": 2, "box": [0.1, 0.2, 0.3, 0.4]})
    write(writer, base.model_copy(update={"schema_": "detection/1.1", "detections": [boxed], "model": ref,
                                          "models": [ref]}))
    writer.conn.commit()
    export_central(writer.conn, tmp_path / "dp", Selection(), ExportSection())
    assert validate_package(tmp_path / "dp") == []
    with (tmp_path / "dp" / "observations.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    levels = sorted((r["observationLevel"], r["count"], r["mediaID"], r["bboxX"], r["bboxWidth"]) for r in rows)
    assert levels == [("event", "2", "", "", ""), ("media", "", boxed.best_media_id, "0.1", "0.3")]


def test_lora_first_then_the_full_record_is_one_observation(writer):
    message = detection("tlnp-0001", ["amur_tiger", "human"])
    first = write(writer, lora_summary("tlnp-0001", message))
    assert first.stored and [a.kind for a in first.alerts] == ["conflict"]
    rows = writer.conn.execute("SELECT source, observation_id FROM observations ORDER BY species_code").fetchall()
    assert [r[0] for r in rows] == ["lora", "lora"]
    full = write(writer, message)
    assert full.stored and full.alerts == []  # the LoRa summary already raised it: once per event
    rows = writer.conn.execute("SELECT source, observation_id, event_id, lora_frame, confidence FROM observations "
                               "ORDER BY species_code").fetchall()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        ("station", d.observation_id, message.sequence_id, 1) for d in sorted(message.detections,
                                                                             key=lambda d: d.species_code)]
    assert rows[0][4] == pytest.approx(0.91)
    assert count(writer.conn, "SELECT count(*) FROM alerts") == 1


def test_the_full_record_first_then_a_late_lora_summary_only_notes_it(writer):
    message = detection("tlnp-0001", ["amur_leopard"])
    write(writer, message)
    assert write(writer, lora_summary("tlnp-0001", message)).alerts == []
    assert writer.conn.execute("SELECT source, lora_frame FROM observations").fetchall() == [("station", 1)]
    assert not write(writer, lora_summary("tlnp-0001", message)).stored  # the same uplink again


def test_an_individual_set_on_a_lora_summary_survives_the_full_record(writer):
    message = detection("tlnp-0001", ["amur_leopard"])
    write(writer, lora_summary("tlnp-0001", message))
    provisional = writer.conn.execute("SELECT observation_id FROM observations").fetchone()[0]
    assert set_individual(writer.conn, Assignment(provisional, "LEO-07", name="Kedr")) == "amur_leopard"
    write(writer, message)
    assert writer.conn.execute("SELECT observation_id, individual_id FROM observations").fetchall() == [
        (message.detections[0].observation_id, "LEO-07")]


def test_individuals_refuse_mistakes(writer):
    write(writer, detection("tlnp-0001", ["amur_tiger", "human"]))
    tiger, person = [r[0] for r in writer.conn.execute(
        "SELECT observation_id FROM observations ORDER BY species_code DESC").fetchall()]
    set_individual(writer.conn, Assignment(tiger, "TIG-1"))
    with pytest.raises(RegistryError, match="only animals have individuals"):
        set_individual(writer.conn, Assignment(person, "TIG-1"))
    write(writer, detection("tlnp-0001", ["amur_leopard"], AT.replace(hour=9), seed=2))
    leopard = writer.conn.execute("SELECT observation_id FROM observations WHERE species_key = 'amur_leopard'"
                                  ).fetchone()[0]
    with pytest.raises(RegistryError, match="individual TIG-1 is a amur_tiger, but observation"):
        set_individual(writer.conn, Assignment(leopard, "TIG-1"))
    with pytest.raises(NotFoundError, match="no observation nope"):
        set_individual(writer.conn, Assignment("nope", "TIG-1"))


def test_an_unmapped_lora_device_is_refused_before_anything_is_written(writer):
    uplink = lora_summary("tlnp-0001", detection("tlnp-0001", ["amur_tiger"]))
    stray = type(uplink)(uplink.uplink_id, "ffffffffffffffff", "stray", None, 1, AT, uplink.payload, uplink.frame)
    with pytest.raises(BadMessage, match="is not mapped to a station; set the ChirpStack device tag"):
        writer.write(stray, AT)
    mapped = type(uplink)(uplink.uplink_id, "70b3d57ed0000001", None, None, 1, AT, uplink.payload, uplink.frame)
    assert write(writer, mapped).stored  # found through the registry's DevEUI


def test_telemetry_goes_to_monthly_partitions(store, database):
    from station.central.db import ensure_telemetry_partitions

    ensure_telemetry_partitions(store, {(2026, 12), (2027, 1)})
    ensure_telemetry_partitions(store, {(2026, 12)})
    assert {(2026, 12), (2027, 1)} <= existing_telemetry_partitions(store)
    store.execute("INSERT INTO telemetry (message_id, station_id, at, source) VALUES ('m', 's', %s, 'station')",
                  [datetime(2026, 12, 31, 23, 59, tzinfo=UTC)])
    assert count(store, "SELECT count(*) FROM telemetry_y2026m12") == 1


def test_concurrent_workers_join_lora_and_full_records_exactly_once(database, writer):
    """Two connections race the LoRa summary and the full record of the same detections."""
    messages = [detection("tlnp-0001", ["amur_tiger", "human"], AT.replace(minute=m), seed=m) for m in range(40)]
    conns = [open_store(database) for _ in range(2)]
    writers = [IngestWriter(conn, ALERTS) for conn in conns]
    barrier = threading.Barrier(2)

    def run(index: int) -> None:
        barrier.wait()
        for n, message in enumerate(messages):
            record = message if index == 0 else lora_summary("tlnp-0001", message, sequence=n, uplink_id=f"u{n}")
            with writers[index].conn.transaction():
                written = writers[index].write(record, AT)
                record_alerts(writers[index].conn, written.alerts)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for conn in conns:
        conn.close()
    assert count(writer.conn, "SELECT count(*) FROM observations") == 80
    assert count(writer.conn, "SELECT count(*) FROM observations WHERE source = 'station' AND lora_frame IS NOT NULL"
                 ) == 80
    assert count(writer.conn, "SELECT count(*) FROM alerts") == 40  # one conflict alert per tiger event
