"""One home for the store's layout (station/store/paths.py): what the daemon writes is where `trapd status`
and `trapd detections` read it."""

from __future__ import annotations

import json

from click.testing import CliRunner

from station.cli.main import main
from station.config.file import default_config_text
from station.store.paths import media_dir, station_db_path
from tests.conftest import make_config, running_station


def test_the_daemon_writes_the_store_where_the_commands_read_it(tmp_path):
    data = tmp_path / "data"
    config = make_config(data)
    with running_station(config) as app:
        assert (app.db_path, app.media.root) == (station_db_path(data), media_dir(data))
        app.parts.trigger_source.fire("amur_tiger")
        assert app.wait_idle(30)
    assert station_db_path(data) == data / "station.db" and station_db_path(data).is_file()
    assert any(media_dir(data).rglob("*.jpg")) and media_dir(data).parent == data
    (tmp_path / "station.toml").write_text(default_config_text({"station": {"id": "test-station",
                                                                             "data_dir": str(data)}}))
    runner = CliRunner()
    status = runner.invoke(main, ["status", "-c", str(tmp_path / "station.toml"), "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.output)["sequences"] == 1
    listed = runner.invoke(main, ["detections", "-c", str(tmp_path / "station.toml"), "--format", "json"])
    assert [row["species"] for row in json.loads(listed.output)] == ["amur_tiger"]
