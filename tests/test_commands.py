"""Remote commands over MQTT: validated, idempotent by request id, always answered, never a crash."""

from __future__ import annotations

import json
import sqlite3
import tomllib

import pytest

from tests.commanded import commanded_station, send_command

STATION = "cmd-station"


@pytest.fixture
def station(tmp_path, broker, collector_for):
    with commanded_station(tmp_path, broker, collector_for, STATION) as running:
        yield running


def send(broker, name: str, body) -> None:
    send_command(broker, STATION, name, body)


def reply(results, request_id: str, count: int = 1) -> list[dict]:
    got = results.wait_for(f"/cmd_result/{request_id}", count, timeout=20)
    return [json.loads(p) for _, p in got]


def test_capture_command_takes_a_burst(station):
    app, broker, results = station
    send(broker, "capture", {"request_id": "req-capture-1", "args": {"subject": "amur_tiger"}})
    assert reply(results, "req-capture-1")[0]["ok"] is True
    detections = results.wait_for("/detections", 1, timeout=20)
    assert json.loads(detections[0][1])["trigger"] == "command"


def test_config_set_is_validated_applied_and_persisted(station):
    app, broker, results = station
    send(broker, "config_set", {"request_id": "req-cfg-ok", "args": {"key": "capture.burst_frames", "value": 5}})
    answer = reply(results, "req-cfg-ok")[0]
    assert answer["ok"] and answer["result"]["applied"] is True
    assert app.config.capture.burst_frames == 5
    saved = tomllib.loads(app.config.source_path.read_text())
    assert saved["capture"]["burst_frames"] == 5 and saved["station"]["id"] == "cmd-station"
    send(broker, "config_set", {"request_id": "req-cfg-bad", "args": {"key": "capture.burst_frames", "value": 99}})
    refused = reply(results, "req-cfg-bad")[0]
    assert refused["ok"] is False and "capture.burst_frames" in refused["error"] and "30" in refused["error"]
    assert tomllib.loads(app.config.source_path.read_text())["capture"]["burst_frames"] == 5


def test_repeated_request_id_is_answered_again_but_not_run_again(station):
    app, broker, results = station
    body = {"request_id": "req-twice-1", "args": {"subject": "human"}}
    send(broker, "capture", body)
    first = reply(results, "req-twice-1")[0]
    send(broker, "capture", body)
    answers = reply(results, "req-twice-1", count=2)
    assert len(answers) == 2 and answers[1]["id"] == first["id"]
    assert app.stats.get("triggers") == 1


def test_unknown_and_malformed_commands_get_error_replies(station):
    app, broker, results = station
    send(broker, "self_destruct", {"request_id": "req-unknown-1"})
    assert "unknown command 'self_destruct'" in reply(results, "req-unknown-1")[0]["error"]
    send(broker, "capture", b"{not json")
    send(broker, "capture", {"request_id": "req-bad-args", "args": "not a dict"})
    assert reply(results, "req-bad-args")[0]["ok"] is False
    bad = results.wait_for("/cmd_result/invalid-", 0, timeout=0.1)
    assert app.healthy()
    with sqlite3.connect(app.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM commands WHERE ok = 0").fetchone()[0] == 3, bad


def test_send_media_and_model_reload(station):
    app, broker, results = station
    app.parts.trigger_source.fire("amur_leopard")
    detection = json.loads(results.wait_for("/detections", 1, timeout=20)[0][1])
    media_id = detection["detections"][0]["best_media_id"]
    send(broker, "send_media", {"request_id": "req-media-1", "args": {"media_id": media_id}})
    assert reply(results, "req-media-1")[0]["ok"]
    full = results.wait_for(f"/media/{media_id}/full", 1, timeout=20)
    assert full[0][1][:2] == b"\xff\xd8"  # a JPEG
    send(broker, "model_reload", {"request_id": "req-model-bad", "args": {"card": "/nowhere/card.toml"}})
    bad = reply(results, "req-model-bad")[0]
    assert bad["ok"] is False and "model card not found" in bad["error"]
    send(broker, "model_reload", {"request_id": "req-model-ok"})
    assert reply(results, "req-model-ok")[0]["result"]["model"].startswith("trapd-pipeline")
    app.parts.trigger_source.fire("amur_tiger")
    assert len(results.wait_for("/detections", 2, timeout=20)) == 2  # still classifying after the swap


def test_status_command_publishes_status_and_telemetry(station):
    app, broker, results = station
    send(broker, "status", {"request_id": "req-status-1"})
    assert reply(results, "req-status-1")[0]["ok"]
    telemetry = json.loads(results.wait_for("/telemetry", 1, timeout=20)[0][1])
    assert telemetry["station_id"] == "cmd-station" and telemetry["disk_total_mb"] > 0
    assert set(telemetry["queue_depths"]) == {"triggers", "frames", "store"}
