"""`trapd central command` against a real station through a real Mosquitto: the reply comes back on the
response topic with the correlation data; a station that is down gets the command when it returns."""

from __future__ import annotations

import json

from click.testing import CliRunner

from station.cli.central import central
from station.config.file import default_config_text
from station.config.load import load_config
from station.devtools.collector import TopicCollector
from station.fsutil import write_atomic
from tests.conftest import running_station


def central_toml(tmp_path, broker) -> str:
    path = tmp_path / "central.toml"
    path.write_text(f"[mqtt]\nhost = \"{broker.host}\"\nport = {broker.port}\n", encoding="utf-8")
    return str(path)


def test_a_command_is_answered_and_one_sent_while_the_station_is_down_runs_when_it_returns(tmp_path, broker):
    path = tmp_path / "station.toml"
    write_atomic(path, default_config_text({
        "station": {"id": "llnp-0101", "data_dir": "data"}, "camera": {"width": 320, "height": 240},
        "mqtt": {"port": broker.port, "reconnect_max_s": 1.0, "telemetry_interval_s": 0.0}}).encode())
    config = load_config(path)
    conf = central_toml(tmp_path, broker)
    runner = CliRunner()
    with running_station(config):
        result = runner.invoke(central, ["-c", conf, "command", "llnp-0101", "telemetry", "--wait", "20"])
    assert result.exit_code == 0, result.output
    reply = json.loads(result.output)
    assert reply["ok"] is True and reply["command"] == "telemetry" and reply["request_id"].startswith("ops-")

    # the station is down now; its session (and the command) wait at the broker
    result = runner.invoke(central, ["-c", conf, "command", "llnp-0101", "config_set", "--wait", "1",
                                     "--request-id", "ops-while-down-0001",
                                     "--args", '{"key": "capture.burst_frames", "value": 4}'])
    assert result.exit_code == 1 and "no reply within 1 s" in result.output
    bad = runner.invoke(central, ["-c", conf, "command", "llnp-0101", "status", "--args", "[1]"])
    assert bad.exit_code == 2 and "must be a JSON object" in bad.output
    replies = TopicCollector(broker.host, broker.port, "camtrap/v1/llnp-0101/cmd_result/ops-while-down-0001")
    with running_station(load_config(path)) as app:
        got = replies.wait_for("/ops-while-down-0001", 1, timeout=20)
        burst = app.config.capture.burst_frames
    replies.close()
    reply = json.loads(got[0][1])  # the queued request ran when the station returned, nobody sent it again
    assert reply["ok"] is True and reply["result"]["applied"] is True
    assert burst == 4
