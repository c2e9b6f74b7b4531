"""A real station (simulated hardware, bundled model) publishes through the broker; the central side stores
its sequences and thumbnails, and the station's own store exports the same observations as Camtrap DP."""

from __future__ import annotations

import csv

from station.camtrapdp.station_export import StationExport, export_station
from station.camtrapdp.validate import validate_package
from station.central.export import Selection, export_central
from station.central.registry import StationEntry, register_stations
from tests.central.conftest import count, ingest_workers, make_central_config, needs_frictionless
from tests.conftest import make_config, running_station, wait_until

SUBJECTS = ["amur_tiger", "human", "sika_deer"]


def read(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_real_station_is_ingested_and_exports_the_same_on_its_own(store, database, central_broker, tmp_path):
    needs_frictionless()
    station = make_config(tmp_path / "data", broker=central_broker, capture={"quiet_period_s": 0.05},
                          station={"id": "tlnp-0042", "park": "TLNP", "country": "CN", "deployment_id": "tlnp-0042-a"})
    register_stations(store, [StationEntry("tlnp-0042", "TLNP", "CN", 43.01, 130.9)])
    central = make_central_config(database, central_broker, alerts={
        "settlements": [{"name": "Village", "latitude": 43.0, "longitude": 130.9}]})
    with ingest_workers(central, 1), running_station(station) as app:
        for subject in SUBJECTS:
            app.parts.trigger_source.fire(subject)
            assert app.wait_idle(30)
        assert wait_until(lambda: count(store, "SELECT count(*) FROM events") == len(SUBJECTS)
                          and count(store, "SELECT count(*) FROM media WHERE thumbnail IS NOT NULL") >= 2, timeout=30)
    assert count(store, "SELECT count(*) FROM alerts WHERE kind = 'conflict' AND level = 2") == 1  # 1.1 km

    central_out, station_out = tmp_path / "central-dp", tmp_path / "station-dp"
    export_central(store, central_out, Selection(), central.export)
    summary = export_station(app.db_path, app.config.data_dir / "media", station_out,
                             StationExport("tlnp-0042", "TLNP", "CN", latitude=43.01, longitude=130.9,
                                           copy_media=True))
    assert validate_package(central_out) == [] and validate_package(station_out) == []
    assert summary.rows["observations"] >= len(SUBJECTS)

    def animals(folder):
        return {row["observationID"] for row in read(folder / "observations.csv")
                if row["observationType"] != "blank"}

    assert animals(station_out) == animals(central_out)
    media = read(station_out / "media.csv")
    people = {row["eventID"] for row in read(station_out / "observations.csv") if row["observationType"] == "human"}
    assert people, "the simulated person was not recognised"
    for row in media:
        copied = (station_out / row["filePath"]).exists()
        assert row["filePublic"] == "true" and copied or row["filePublic"] == "false" and not copied
    assert any(row["filePublic"] == "false" for row in media)
