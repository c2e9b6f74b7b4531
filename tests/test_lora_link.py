"""Link policy: LoRa carries priority summaries only while MQTT is down; MQTT then brings the full records."""

from __future__ import annotations

import json
import sqlite3
import time

from station.devtools.mosquitto import free_port
from station.wire.lora_codec import DetectionFrame, StatusFrame, decode_uplink, encode_downlink, RequestStatus
from tests.conftest import make_config, running_station

LORA = {"enabled": True, "modem": "simulated", "region": "RU864", "mqtt_grace_s": 0.0, "status_interval_s": 3600}


def wait_uplinks(simulator, count: int, timeout: float = 20.0) -> list:
    deadline = time.monotonic() + timeout
    while len(simulator.uplinks) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return list(simulator.uplinks)


def test_priority_detections_go_over_lora_while_mqtt_is_down(tmp_path):
    config = make_config(tmp_path / "data", lora=LORA,
                         mqtt={"enabled": True, "port": free_port(), "reconnect_max_s": 1.0})
    with running_station(config) as app:
        simulator = app.parts.lora.modem.simulator
        for subject in ("amur_tiger", "sika_deer", "human"):
            app.parts.trigger_source.fire(subject)
            assert app.wait_idle(30)
        uplinks = wait_uplinks(simulator, 2)
        time.sleep(0.5)
        frames = [decode_uplink(u.payload) for u in simulator.uplinks]
    status = [f for f in frames if isinstance(f, StatusFrame)]
    detections = [d for f in frames if isinstance(f, DetectionFrame) for d in f.detections]
    assert status, "a status frame goes out when MQTT is down"
    assert sorted(d.species_code for d in detections) == [1, 2]  # human and tiger; the deer waits for MQTT
    with sqlite3.connect(app.db_path) as conn:
        rows = conn.execute("SELECT payload, lora_frame FROM outbox WHERE lora_sent_at IS NOT NULL").fetchall()
    starts = {int(time.mktime(time.strptime(json.loads(p)["start"][:19], "%Y-%m-%dT%H:%M:%S"))) - time.timezone
              for p, _ in rows}
    assert {d.at for d in detections} == starts  # the join key the central side uses: species + start second
    assert uplinks[0].port == 10


def test_lora_stays_silent_while_mqtt_is_up(tmp_path, broker):
    # a grace period longer than the MQTT connect at start-up, as in the field (default 300 s)
    config = make_config(tmp_path / "data", broker=broker, lora={**LORA, "mqtt_grace_s": 10.0})
    with running_station(config) as app:
        simulator = app.parts.lora.modem.simulator
        app.parts.trigger_source.fire("amur_tiger")
        assert app.wait_idle(30)
        assert app.parts.uplink.connected
        time.sleep(1.0)
        assert simulator.uplinks == []


def test_duty_cycle_refusal_and_status_request_downlink(tmp_path):
    config = make_config(tmp_path / "data", lora=LORA,
                         mqtt={"enabled": True, "port": free_port(), "reconnect_max_s": 1.0})
    with running_station(config) as app:
        simulator = app.parts.lora.modem.simulator
        wait_uplinks(simulator, 1)  # the first status frame
        simulator.duty_cycle_refuse_next()
        app.parts.trigger_source.fire("amur_leopard")
        assert app.wait_idle(30)
        time.sleep(0.5)
        assert app.stats.get("lora_send_failures") >= 1
        simulator.queue_downlink(20, encode_downlink(RequestStatus()))
        app.parts.lora._last_status = 0  # make the next status due now, as after an hour
        app.parts.lora.notify()
        uplinks = wait_uplinks(simulator, 3, timeout=30)
    kinds = [type(decode_uplink(u.payload)).__name__ for u in uplinks]
    assert kinds.count("StatusFrame") >= 2 and "DetectionFrame" in kinds


def test_status_shows_the_remaining_lora_airtime(tmp_path):
    from click.testing import CliRunner

    from station.cli.main import main
    from station.config.file import default_config_text

    config = make_config(tmp_path / "data", lora=LORA,
                         mqtt={"enabled": True, "port": free_port(), "reconnect_max_s": 1.0})
    with running_station(config) as app:
        wait_uplinks(app.parts.lora.modem.simulator, 1)
    (tmp_path / "station.toml").write_text(default_config_text({"station": {"data_dir": str(tmp_path / "data")}}))
    result = CliRunner().invoke(main, ["status", "-c", str(tmp_path / "station.toml"), "--json"])
    lora = json.loads(result.output)["lora"]
    assert lora["region"] == "RU864" and 0 < lora["remaining_s"] < lora["allowance_s"] == 36.0


def test_a_person_alert_goes_over_lora_before_the_sequence_closes(tmp_path):
    config = make_config(tmp_path / "data", lora=LORA, capture={"quiet_period_s": 8.0},
                         mqtt={"enabled": True, "port": free_port(), "reconnect_max_s": 1.0})
    with running_station(config) as app:
        simulator = app.parts.lora.modem.simulator
        app.parts.trigger_source.fire("human")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
                isinstance(f := decode_uplink(u.payload), DetectionFrame) and f.detections for u in simulator.uplinks):
            time.sleep(0.05)
        assert app.stats.get("sequences_closed") == 0  # still open: this is the provisional alert
        assert app.wait_idle(30)
        time.sleep(0.5)
        frames = [decode_uplink(u.payload) for u in simulator.uplinks]
    people = [d for f in frames if isinstance(f, DetectionFrame) for d in f.detections]
    assert [d.species_code for d in people] == [1]  # the full record adds nothing the alert did not say
    with sqlite3.connect(app.db_path) as conn:
        kinds = dict(conn.execute("SELECT kind, lora_sent_at IS NOT NULL FROM outbox WHERE kind IN ('alert', 'detection')"))
    assert kinds == {"alert": 1, "detection": 1}  # both done for LoRa; MQTT still owes them (sent_at is NULL)
