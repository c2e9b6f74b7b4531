"""Camtrap DP packages GBIF accepts: licences for data and media, walk-test sequences as calibration,
and deployments whose times are uncertain flagged with timestampIssues."""

from __future__ import annotations

import http.client
import json
import sqlite3
from pathlib import Path
from urllib.parse import urlencode

from click.testing import CliRunner

from station.camtrapdp.station_export import StationExport, export_station
from station.camtrapdp.validate import validate_package
from station.cli.main import main
from station.wire import ids
from tests.conftest import make_config, running_station
from tests.web.conftest import PASSWORD, page_station

LOCATION = {"latitude": 43.1, "longitude": 131.9}


def read_csv(folder: Path, table: str) -> list[dict[str, str]]:
    import csv

    with (folder / f"{table}.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def walk_feed_poll(station) -> None:
    """What the ranger's phone does on the walk-test page: log in, then poll /api/walk."""
    host, port = station.web.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("POST", "/login", body=urlencode({"password": PASSWORD}),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    login = conn.getresponse()
    login.read()
    cookie = login.getheader("Set-Cookie").split(";")[0]
    conn.request("GET", "/api/walk", headers={"Cookie": cookie})
    feed = conn.getresponse()
    assert feed.status == 200 and "frames" in json.loads(feed.read())
    conn.close()


def test_walk_test_sequences_are_calibration_and_the_rest_are_not(tmp_path):
    with page_station(tmp_path / "data") as station:
        app = station.app
        app.parts.trigger_source.fire("amur_tiger")
        assert app.wait_idle(30)
        try:  # the tiger's sequence ends well before the ranger opens the walk test: 3.5 s by the station's clock
            ids.set_clock_offset(ids.clock_offset() + 3.5)
            walk_feed_poll(station)
            app.parts.trigger_source.fire("human")  # the ranger walks past
            assert app.wait_idle(30)
        finally:
            ids.set_clock_offset(0.0)
    out = tmp_path / "package"
    export_station(app.db_path, tmp_path / "data" / "media", out,
                   StationExport("test-station", "LLNP", "RU", walk_test_margin_s=3.0, **LOCATION))
    observations = read_csv(out, "observations")
    setup = {row["observationTags"]: row["cameraSetupType"] for row in observations}
    assert setup == {"species:amur_tiger": "", "species:human": "calibration"}
    assert validate_package(out) == []


def test_licences_are_declared_for_data_and_media_and_chosen_on_the_command_line(tmp_path):
    config = make_config(tmp_path / "data")
    with running_station(config) as app:
        app.parts.trigger_source.fire("amur_leopard")
        assert app.wait_idle(30)
    toml = tmp_path / "station.toml"
    toml.write_text(f'[station]\nid = "test-station"\ndata_dir = "{tmp_path / "data"}"\n[hardware]\n'
                    f'camera = "simulated"\ntrigger = "simulated"\n', encoding="utf-8")
    out = tmp_path / "package"
    result = CliRunner().invoke(main, ["export", "-c", str(toml), "--camtrap-dp", "--out", str(out),
                                       "--latitude", "43.1", "--longitude", "131.9", "--data-license", "CC0-1.0",
                                       "--media-license", "CC-BY-NC-4.0"])
    assert result.exit_code == 0, result.output
    licenses = json.loads((out / "datapackage.json").read_text())["licenses"]
    assert {(item["scope"], item["name"]) for item in licenses} == {("data", "CC0-1.0"), ("media", "CC-BY-NC-4.0")}
    assert all(item["path"].startswith("http://creativecommons.org/") for item in licenses)
    refused = CliRunner().invoke(main, ["export", "-c", str(toml), "--camtrap-dp", "--out", str(tmp_path / "x"),
                                        "--data-license", "all-rights-reserved"])
    assert refused.exit_code == 2 and "all-rights-reserved" in refused.output


def test_a_package_without_licences_is_not_ready_for_gbif(tmp_path):
    config = make_config(tmp_path / "data")
    with running_station(config) as app:
        app.parts.trigger_source.fire("wild_boar")
        assert app.wait_idle(30)
    out = tmp_path / "package"
    export_station(app.db_path, tmp_path / "data" / "media", out,
                   StationExport("test-station", "LLNP", "RU", **LOCATION))
    descriptor = json.loads((out / "datapackage.json").read_text())
    del descriptor["licenses"]
    (out / "datapackage.json").write_text(json.dumps(descriptor))
    assert any("licenses need one with scope data" in problem for problem in validate_package(out))


def test_a_clock_correction_flags_the_deployments_times(tmp_path):
    config = make_config(tmp_path / "data")
    with running_station(config) as app:
        app.parts.trigger_source.fire("sika_deer")
        assert app.wait_idle(30)
        app.parts.writer.submit(lambda store: store.log("clock", "-3600.0"))  # what the RTC check writes on a jump
        app.parts.trigger_source.fire("sika_deer")
        assert app.wait_idle(30)
    flagged = tmp_path / "flagged"
    export_station(app.db_path, tmp_path / "data" / "media", flagged,
                   StationExport("test-station", "LLNP", "RU", **LOCATION))
    assert [row["timestampIssues"] for row in read_csv(flagged, "deployments")] == ["true"]
    with sqlite3.connect(app.db_path) as conn:
        conn.execute("DELETE FROM station_log WHERE kind = 'clock'")
    clean = tmp_path / "clean"
    export_station(app.db_path, tmp_path / "data" / "media", clean,
                   StationExport("test-station", "LLNP", "RU", **LOCATION))
    assert [row["timestampIssues"] for row in read_csv(clean, "deployments")] == ["false"]


def test_photos_dated_by_their_file_time_flag_the_deployment(tmp_path):
    from datetime import datetime, timedelta, timezone

    from station.replay.importer import ImportSettings, ReplayImporter
    from tests.test_replay_import import write_photo

    card = tmp_path / "card"
    write_photo(card / "cam-A" / "IMG_0001.JPG", "amur_tiger", 1, datetime(2025, 11, 3, 21, 40))
    undated = card / "cam-B" / "IMG_0002.JPG"
    write_photo(undated, "wild_boar", 2, None)  # no EXIF: the import falls back to the file's time
    config = make_config(tmp_path / "data")
    ReplayImporter(config, allow_non_field=True).run(  # the toy model: simulated scenes
        card, ImportSettings(gap_s=60, max_frames=100, camera_zone=timezone(timedelta(hours=10))))
    out = tmp_path / "package"
    export_station(tmp_path / "data" / "station.db", tmp_path / "data" / "media", out,
                   StationExport("test-station", "LLNP", "RU", **LOCATION))
    assert [row["timestampIssues"] for row in read_csv(out, "deployments")] == ["true"]
