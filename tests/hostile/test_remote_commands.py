"""Issue 14, items 1–6: remote commands an attacker (or a leaked central credential) could send, against a
real StationApp started from station.toml, over a private Mosquitto."""

from __future__ import annotations

import json
import sqlite3
import tomllib

import pytest

from station.config.load import load_config
from station.config.remote import REMOTE_KEYS
from tests.conftest import wait_until
from tests.hostile.conftest import TOPIC, ask, flood, send


def unsent(db_path) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL AND dropped_reason IS NULL"
                            ).fetchone()[0]


def test_a_control_character_never_reaches_station_toml(station):
    """Item 1: DEL in a value answered ok and broke every later start. Now: refused, file untouched."""
    app, broker, results = station
    before = app.config.source_path.read_bytes()
    park = ask(broker, results, "config_set", {"key": "station.park", "value": "LLNP\u007f"})
    assert park["ok"] is False and "refused" in park["error"]
    frames = ask(broker, results, "config_set", {"key": "capture.burst_frames", "value": "5\u007f"})
    assert frames["ok"] is False and "capture.burst_frames" in frames["error"]
    assert app.config.source_path.read_bytes() == before
    load_config(app.config.source_path)  # the next start still works


def test_an_accepted_change_is_validated_atomic_keeps_comments_and_a_good_copy(station):
    app, broker, results = station
    path = app.config.source_path
    before = path.read_text()
    answer = ask(broker, results, "config_set", {"key": "capture.burst_frames", "value": 4})
    assert answer["ok"] and answer["result"]["applied"] is True and app.config.capture.burst_frames == 4
    text = path.read_text()
    assert "# the technician's note: antenna faces north" in text and "# Frames captured per trigger." in text
    assert tomllib.loads(text)["capture"]["burst_frames"] == 4
    assert path.with_name("station.toml.good").read_text() == before  # the previous file, last-known-good
    assert not list(path.parent.glob("*.tmp"))


@pytest.mark.parametrize("key,value", [
    ("web.password_hash", ""), ("web.bind", "0.0.0.0"), ("mqtt.host", "evil.example.org"),
    ("mqtt.enabled", False), ("station.id", "someone-else"), ("station.data_dir", "/tmp/elsewhere"),
    ("model.card", "/tmp/x.toml"), ("mqtt.ca_file", "/tmp/ca.pem"), ("mqtt.topic_root", "x/y"),
    ("mqtt.password", "x"), ("lora.app_key", "0" * 32), ("hardware.camera", "simulated"),
])
def test_identity_secrets_paths_and_the_link_are_refused_with_a_reason(station, key, value):
    """Item 2."""
    app, broker, results = station
    before = app.config.source_path.read_bytes()
    answer = ask(broker, results, "config_set", {"key": key, "value": value})
    assert answer["ok"] is False and answer["error"].startswith(f"{key}: refused: ")
    assert app.config.source_path.read_bytes() == before


def test_live_keys_take_effect_at_once(station):
    """Item 2: thumbnail_max_bytes, timelapse_s and telemetry_interval_s answered applied:true and changed
    nothing. Now each one changes what the station does."""
    app, broker, results = station
    assert ask(broker, results, "config_set", {"key": "mqtt.thumbnail_max_bytes", "value": 0})["ok"]
    app.parts.trigger_source.fire("amur_tiger")
    assert results.wait_for("/detections", 1, timeout=20)
    assert app.wait_idle(20)
    # "no thumbnail went out": every message the sequence queued is at the broker, then a reply the station
    # sent after them has reached ``results``; the broker forwards to one subscriber in order, so they have too
    wait_until(lambda: unsent(app.db_path) == 0, timeout=20, message="the sequence's messages delivered")
    assert ask(broker, results, "status")["ok"]
    assert results.matching("/detections") and not [t for t, _ in results.messages if "/media/" in t]
    assert ask(broker, results, "config_set", {"key": "capture.timelapse_s", "value": 1})["result"]["applied"]
    scheduled = [json.loads(p) for p in [p for _, p in results.wait_for("/detections", 2, timeout=20)]]
    assert any(d["trigger"] == "schedule" for d in scheduled)
    assert ask(broker, results, "config_set", {"key": "capture.timelapse_s", "value": 0})["ok"]
    assert ask(broker, results, "config_set", {"key": "mqtt.telemetry_interval_s", "value": 10})["ok"]
    assert app.parts.telemetry_ticker is not None and app.parts.telemetry_ticker._interval == 10


def test_a_restart_key_says_so_and_the_station_restarts_itself(station):
    app, broker, results = station
    answer = ask(broker, results, "config_set", {"key": "camera.jpeg_quality", "value": 70})
    assert answer["ok"] and answer["result"]["applies"] == "at restart" and answer["result"]["applied"] is False
    assert app.fatal_event.wait(15) and app.restart_reason == "config_set camera.jpeg_quality"
    assert app.fatal is None  # a clean stop, not a failure
    assert load_config(app.config.source_path).camera.jpeg_quality == 70
    assert set(REMOTE_KEYS.values()) == {"live", "restart"}


def _replies(results, request_part: str) -> list[dict]:
    return [json.loads(p) for t, p in results.messages if "/cmd_result/" in t and request_part in t]


def test_deep_huge_and_nul_payloads_are_answered_and_the_command_thread_lives(station):
    """Item 3: a 1,500-deep array (RecursionError) and a NUL in model_reload's card path (ValueError)
    killed the command thread."""
    app, broker, results = station
    send(broker, "status", b"[" * 1500 + b"]" * 1500)
    deep = {"request_id": "req-deep-000001", "args": {"x": json.loads("[" * 200 + "]" * 200)}}
    send(broker, "status", json.dumps(deep).encode())
    send(broker, "status", json.dumps({"request_id": "req-huge-000001", "args": {"x": "a" * 200_000}}).encode())
    nul = ask(broker, results, "model_reload", {"card": "/tmp/card\u0000.toml"})
    assert nul["ok"] is False and "card" in nul["error"]
    assert [r["ok"] for r in _replies(results, "req-deep-000001")] == [False]
    assert "nested deeper" in _replies(results, "req-deep-000001")[0]["error"]
    assert "bytes refused" in _replies(results, "req-huge-000001")[0]["error"]
    assert any(r["ok"] is False for r in _replies(results, "/cmd_result/invalid-"))
    assert ask(broker, results, "status")["ok"] is True  # still answering
    assert app.parts.commands.alive() and app.healthy()


def test_unicorn_is_refused_and_the_capture_thread_lives(station):
    """Item 5."""
    app, broker, results = station
    answer = ask(broker, results, "capture", {"subject": "unicorn"})
    assert answer["ok"] is False and "subject" in answer["error"]
    assert ask(broker, results, "capture", {"subject": "amur_leopard"})["ok"]
    assert results.wait_for("/detections", 1, timeout=20)
    assert app.parts.capture.alive() and app.healthy()


def test_a_thousand_commands_in_a_burst_are_all_answered(station):
    """Item 4: 1,000 commands in 0.2 s: 112 answered, 888 dropped after the broker acknowledged them."""
    app, broker, results = station
    bodies = [("telemetry" if i % 2 else "capture_nothing",
               json.dumps({"request_id": f"req-flood-{i:05d}"}).encode()) for i in range(1000)]
    took = flood(broker, bodies)
    wait_until(lambda: len(_replies(results, "req-flood-")) >= 1000, timeout=120, interval=0.2,
               message=lambda: f"1000 replies (got {len(_replies(results, 'req-flood-'))})")
    answered = {r["request_id"]: r for r in _replies(results, "req-flood-")}
    print(f"published 1000 commands in {took:.2f} s; answered {len(answered)}")
    assert len(answered) == 1000
    for reply in answered.values():
        assert reply["ok"] or reply["error"].startswith(("busy", "unknown command"))
    with sqlite3.connect(app.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM commands WHERE request_id LIKE 'req-flood-%'").fetchone()[0] \
            == sum(1 for r in answered.values() if not (r["error"] or "").startswith("busy"))
    assert app.healthy()


def test_a_dead_link_thread_is_a_health_failure_and_stops_the_station(station):
    """Item 6: paho's network thread died on a bad host name and never retried while healthy() stayed true.
    Host names are now checked at load; a link thread that dies anyway makes the station unhealthy and
    fatal (exit 1, systemd restarts it)."""
    app, broker, results = station

    def broken(name, payload, ack):
        raise RuntimeError("a bug in the command callback")

    app.parts.uplink._on_command = broken
    send(broker, "status", {"request_id": "req-kill-link-1"})
    assert app.fatal_event.wait(10)
    assert not app.healthy() and "died" in str(app.fatal)
    assert f"{TOPIC}" in app.parts.uplink.prefix


def test_trapd_run_exits_75_for_systemd_after_a_change_that_applies_at_restart(tmp_path, broker, collector_for):
    """Item 2: the restart is scheduled by the station itself: in-flight work finished, exit 75
    (systemd's Restart=on-failure starts it again; RestartPreventExitStatus=2 does not cover it)."""
    import subprocess
    import sys

    from tests.hostile.conftest import write_config

    path = write_config(tmp_path, broker.port)
    results = collector_for(broker, f"{TOPIC}/#")
    daemon = subprocess.Popen([sys.executable, "-m", "station", "--log-level", "warning", "run", "-c", str(path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert results.wait_for("/status", 1, timeout=60)
        answer = ask(broker, results, "config_set", {"key": "queues.frames", "value": 32}, timeout=60)
        assert answer["ok"] and answer["result"]["applies"] == "at restart"
        _, stderr = daemon.communicate(timeout=60)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert daemon.returncode == 75, stderr
    assert "restarting to apply config_set queues.frames" in stderr and "Traceback" not in stderr
    assert load_config(path).queues.frames == 32
