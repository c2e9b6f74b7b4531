"""`trapd central …` and `trapd export` as an operator meets them: help everywhere, one clear line on a
mistake, and the whole loop (simulate, ingest, individuals, report, export) from the command line."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from station.cli.central import central
from station.cli.export import export
from tests.central.conftest import count, ingest_workers, make_central_config, needs_frictionless
from tests.conftest import all_commands, wait_until


@pytest.mark.parametrize("name,command", [("trapd export", export), *all_commands(central, "trapd central")],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_command_has_help(name, command):
    assert command.help and len(command.help.strip()) > 20, f"{name} has no help text"
    parts = name.split()[1:]
    runner, root = (CliRunner(), export if parts[0] == "export" else central)
    result = runner.invoke(root, parts[1:] + ["--help"])
    assert result.exit_code == 0 and "Usage:" in result.output


def write_config(tmp_path, database, broker=None, extra: str = "") -> str:
    port = broker.port if broker else 1883
    path = tmp_path / "central.toml"
    path.write_text(f'[database]\nurl = "{database.url}"\nschema = "{database.db_schema}"\n'
                    f'[mqtt]\nport = {port}\nclient_id = "cli-test"\n{extra}')
    return str(path)


def test_a_config_mistake_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "central.toml").write_text("[mqtt]\nprt = 1\n")
    result = CliRunner().invoke(central, ["-c", str(tmp_path / "central.toml"), "migrate"])
    assert result.exit_code == 2
    assert result.output.strip().endswith("central.toml: mqtt.prt: unknown key")


def test_an_unreachable_database_says_what_to_do(tmp_path):
    pytest.importorskip("psycopg", reason="central tests need psycopg 3: pip install 'trapd[central]'")
    (tmp_path / "central.toml").write_text('[database]\nurl = "postgresql://nobody:secret@127.0.0.1:1/x"\n')
    result = CliRunner().invoke(central, ["-c", str(tmp_path / "central.toml"), "migrate"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "cannot connect to PostgreSQL at postgresql://nobody:***@127.0.0.1:1/x" in result.output
    assert "secret" not in result.output and "fix [database] url" in result.output


def test_station_export_needs_a_format_and_a_database(tmp_path):
    runner = CliRunner()
    assert runner.invoke(export, ["--out", str(tmp_path / "x")]).exit_code == 2
    (tmp_path / "station.toml").write_text(f'[station]\nid = "llnp-0001"\ndata_dir = "{tmp_path}/data"\n'
                                           '[hardware]\ncamera = "simulated"\ntrigger = "simulated"\n')
    result = runner.invoke(export, ["-c", str(tmp_path / "station.toml"), "--camtrap-dp", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "no station database here" in result.output


def test_the_whole_loop_from_the_command_line(store, database, central_broker, tmp_path):
    needs_frictionless()
    runner = CliRunner()
    config = write_config(tmp_path, database, central_broker)
    run = lambda *args: runner.invoke(central, ["-c", config, *args], catch_exceptions=False)  # noqa: E731
    assert run("migrate").exit_code == 0
    setup = tmp_path / "setup"
    with ingest_workers(make_central_config(database, central_broker), 2):
        result = run("simulate-fleet", "--stations", "6", "--hours", "12", "--speedup", "0", "--seed", "11",
                     "--register", "--out", str(setup), "--bad-messages", "2", "--telemetry-interval", "3600")
        assert result.exit_code == 0, result.output
        truth = json.loads((setup / "truth.json").read_text())
        assert wait_until(lambda: count(store, "SELECT count(*) FROM events") == truth["sequences"]
                          and count(store, "SELECT count(*) FROM dead_letters") == 2)
    assert (setup / "stations.csv").read_text().startswith("station_id,park,country,latitude,longitude")
    assert "[alerts]" in (setup / "alerts.toml").read_text()
    assert run("stations", "import", str(setup / "stations.csv")).output.startswith("registered 6 stations")
    assert "llnp-0001" in run("stations", "list").output

    imported = run("individuals", "import", str(setup / "individuals.csv"))
    assert imported.exit_code == 0 and imported.output.startswith("assigned ")
    report = run("report", "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html"))
    assert report.exit_code == 0 and "Border crossings in total: 5" in report.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["individuals_in_both_countries"] == ["LEO-07"]
    html = (tmp_path / "r.html").read_text()
    assert "<svg" in html and "LEO-07" in html
    assert not re.search(r"(src|href)=|https?://(?!www\.w3\.org/2000/svg)", html)  # no external assets

    exported = run("export", "--out", str(tmp_path / "dp"), "--country", "CN", "--since", "2026-11-01")
    assert exported.exit_code == 0 and "valid Camtrap DP 1.0.2 package" in exported.output
    assert run("validate", str(tmp_path / "dp")).exit_code == 0

    observation = store.execute("SELECT observation_id FROM observations WHERE species_key = 'amur_tiger' "
                                "AND source = 'station' LIMIT 1").fetchone()[0]
    assert run("individuals", "set", observation, "TIG-9", "--sex", "male").exit_code == 0
    wrong = runner.invoke(central, ["-c", config, "individuals", "set", "no-such-observation", "TIG-9"])
    assert wrong.exit_code == 1 and "no observation no-such-observation" in wrong.output
    assert "is not detection/1.x" in run("dead-letters").output
    assert run("alerts").exit_code == 0


def test_init_writes_a_config_that_loads(tmp_path):
    from station.central.config import load_central_config

    result = CliRunner().invoke(central, ["init", str(tmp_path / "central.toml")])
    assert result.exit_code == 0
    loaded = load_central_config(tmp_path / "central.toml")
    assert loaded.alerts.settlements[0].name == "Example village"
    again = CliRunner().invoke(central, ["init", str(tmp_path / "central.toml")])
    assert again.exit_code == 2 and "--force" in again.output
