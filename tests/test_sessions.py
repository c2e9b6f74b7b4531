"""Persistent MQTT 5 sessions through a real Mosquitto: a command sent while the station is down is answered
when it returns; an expired command is never run; request/response replies echo the correlation data."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from station.config.file import default_config_text
from station.config.load import load_config
from station.daemon.app import StationApp
from station.fsutil import write_atomic

PREFIX = "camtrap/v1/session-station"


@pytest.fixture
def config_path(tmp_path, broker):
    path = tmp_path / "station.toml"
    write_atomic(path, default_config_text({
        "station": {"id": "session-station", "data_dir": "data"}, "camera": {"width": 320, "height": 240},
        "capture": {"burst_frames": 2, "burst_interval_s": 0.02, "quiet_period_s": 0.2},
        "mqtt": {"port": broker.port, "reconnect_max_s": 1.0, "telemetry_interval_s": 0.0}}).encode())
    return path


def run_station(config_path, results):
    app = StationApp(load_config(config_path))
    app.start()
    results.wait_for("/status", len(results.matching("/status")) + 1)
    return app


def command(broker, name: str, body: dict, *, expiry_s: int | None = None, response_topic: str | None = None,
            correlation: bytes | None = None) -> None:
    """Publish like the central side does: MQTT 5, QoS 1, with the optional properties."""
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    props = Properties(PacketTypes.PUBLISH)
    props.ContentType = "application/json"
    if expiry_s is not None:
        props.MessageExpiryInterval = expiry_s
    if response_topic is not None:
        props.ResponseTopic = response_topic
    if correlation is not None:
        props.CorrelationData = correlation
    client.publish(f"{PREFIX}/cmd/{name}", json.dumps(body).encode(), qos=1, properties=props).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_commands_sent_while_the_station_was_down_are_answered_when_it_returns(config_path, broker,
                                                                                collector_for):
    results = collector_for(broker, f"{PREFIX}/#")
    run_station(config_path, results).stop()  # the broker now holds the station's session
    now = datetime.now(UTC)
    command(broker, "telemetry", {"request_id": "while-down-1"}, expiry_s=3600)
    command(broker, "capture", {"request_id": "stale-mqtt-1"}, expiry_s=1)  # the broker must drop it
    command(broker, "capture", {"request_id": "stale-payload-1", "sent_at": iso(now - timedelta(days=3)),
                                "expires_at": iso(now - timedelta(days=2))})  # held by a broker anyway
    time.sleep(2.2)  # not a wait for the code under test: stale-mqtt-1's 1 s expiry passes on the broker's clock
    app = run_station(config_path, results)
    try:
        replies = {json.loads(p)["request_id"]: json.loads(p) for _, p in
                   results.wait_for("/cmd_result/stale-payload-1", 1, timeout=20) +
                   results.wait_for("/cmd_result/while-down-1", 1, timeout=20)}
        assert replies["while-down-1"]["ok"] is True
        assert replies["stale-payload-1"]["ok"] is False
        assert replies["stale-payload-1"]["error"].startswith("expired at ")
        # The broker hands queued messages over in order and one worker answers them in turn, so a reply to
        # stale-mqtt-1 (published before stale-payload-1) would have come before the one just received.
        assert results.matching("/cmd_result/stale-mqtt-1") == []
        with sqlite3.connect(app.db_path) as conn:
            ran = {r[0] for r in conn.execute("SELECT request_id FROM commands")}
            triggers = conn.execute("SELECT count(*) FROM events WHERE trigger_source = 'command'").fetchone()[0]
        assert ran == {"while-down-1", "stale-payload-1"}
        assert triggers == 0  # neither stale capture took a burst
    finally:
        app.stop()


def test_a_reply_goes_to_the_response_topic_with_the_correlation_data(config_path, broker, collector_for):
    results = collector_for(broker, f"{PREFIX}/#")
    app = run_station(config_path, results)
    try:
        command(broker, "telemetry", {"request_id": "rr-req-0001"}, response_topic=f"{PREFIX}/cmd_result/rr-inbox",
                correlation=b"\x00corr-42\xff")
        command(broker, "telemetry", {"request_id": "rr-req-0002"}, response_topic="camtrap/v1/other-station/x",
                correlation=b"c2")  # outside the station's topics: the default reply topic
        mine = results.wait_for("/cmd_result/rr-inbox", 1, timeout=20)
        assert json.loads(mine[0][1])["request_id"] == "rr-req-0001"
        raw = [r for r in results.raw if r[0].endswith("/cmd_result/rr-inbox")]
        assert raw[0][2] == "application/vnd.trapd.cmd_result+zstd;dict=1" and raw[0][3] == b"\x00corr-42\xff"
        other = results.wait_for("/cmd_result/rr-req-0002", 1, timeout=20)
        assert json.loads(other[0][1])["ok"] is True
        assert [r[3] for r in results.raw if r[0].endswith("/cmd_result/rr-req-0002")] == [b"c2"]
    finally:
        app.stop()


def test_an_expired_command_is_answered_expired_and_a_repeat_is_not_run(config_path, broker, collector_for):
    results = collector_for(broker, f"{PREFIX}/#")
    app = run_station(config_path, results)
    try:
        old = iso(datetime.now(UTC) - timedelta(days=2))
        command(broker, "capture", {"request_id": "old-sent-0001", "sent_at": old})  # max age 1 day by default
        command(broker, "capture", {"request_id": "bad-expiry-01", "expires_at": "next tuesday"})
        replies = [json.loads(p) for _, p in results.wait_for("/cmd_result/old-sent-0001", 1, timeout=20) +
                   results.wait_for("/cmd_result/bad-expiry-01", 1, timeout=20)]
        assert [r["ok"] for r in replies] == [False, False]
        assert replies[0]["error"].startswith("expired at ") and "not run" in replies[0]["error"]
        assert "cannot read its expiry time" in replies[1]["error"]
        command(broker, "capture", {"request_id": "old-sent-0001"})  # same id, now without a time: not re-run
        again = results.wait_for("/cmd_result/old-sent-0001", 2, timeout=20)
        assert json.loads(again[-1][1])["error"] == replies[0]["error"]
        assert app.wait_idle(5)
        with sqlite3.connect(app.db_path) as conn:
            assert conn.execute("SELECT count(*) FROM events WHERE trigger_source = 'command'").fetchone()[0] == 0
    finally:
        app.stop()
