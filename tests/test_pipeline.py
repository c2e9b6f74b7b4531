"""The station end to end on simulated hardware: PIR → burst → classifier → SQLite → MQTT."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from station.wire.messages import DetectionMessage
from tests.conftest import make_config, running_station, wait_until


def rows(db: Path, sql: str, params=()) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def test_pir_fire_stores_a_sequence_and_publishes_its_detection(tmp_path, broker, collector_for):
    collector = collector_for(broker)
    config = make_config(tmp_path / "data", broker=broker)
    with running_station(config) as app:
        app.parts.trigger_source.fire("amur_tiger", night=False)
        assert app.wait_idle(30)
        received = collector.wait_for("/detections", 1, timeout=15)
        # seen by the collector is not yet marked sent: that waits for the PUBACK to reach the station
        wait_until(lambda: rows(app.db_path, "SELECT count(*) FROM outbox WHERE kind = 'detection' "
                                             "AND sent_at IS NULL") == [(0,)], message="the detection marked sent")
    db = app.db_path
    events = rows(db, "SELECT event_id, state, bursts FROM events")
    assert len(events) == 1 and events[0][1] == "closed" and events[0][2] == 1
    media = rows(db, "SELECT file_path, top_species FROM media WHERE event_id = ?", [events[0][0]])
    assert len(media) == 2
    assert all((config.data_dir / "media" / path).is_file() for path, _ in media)
    observations = rows(db, "SELECT species_key, species_code, scientific_name, observation_type FROM observations")
    assert observations == [("amur_tiger", 2, "Panthera tigris altaica", "animal")]

    topic, payload = received[0]
    assert topic == "camtrap/v1/test-station/detections"
    message = DetectionMessage.model_validate_json(payload)
    assert message.sequence_id == events[0][0]
    assert message.station_id == "test-station" and message.deployment_id == "dep-1"
    assert [d.species for d in message.detections] == ["amur_tiger"]
    assert message.detections[0].confidence >= 0.5 and message.empty is False
    sent = rows(db, "SELECT message_id, sent_at FROM outbox WHERE kind = 'detection'")
    assert sent[0][0] == message.id and sent[0][1] is not None


def test_retained_status_online_then_offline(tmp_path, broker, collector_for):
    config = make_config(tmp_path / "data", broker=broker)
    with running_station(config):
        collector = collector_for(broker, "camtrap/v1/test-station/status")
        online = collector.wait_for("/status", 1)
    assert json.loads(online[0][1])["state"] == "online"
    later = collector_for(broker, "camtrap/v1/test-station/status").wait_for("/status", 1)
    assert json.loads(later[-1][1])["state"] == "offline"  # retained, so a late subscriber sees it


def test_retrigger_within_quiet_period_extends_the_sequence(tmp_path):
    config = make_config(tmp_path / "data", capture={"quiet_period_s": 2.0})
    with running_station(config) as app:
        app.parts.trigger_source.fire("amur_leopard")
        wait_until(lambda: app.stats.get("bursts") >= 1, message="the first burst")  # the second one is its own
        app.parts.trigger_source.fire("amur_leopard")
        assert app.wait_idle(30)
    events = rows(app.db_path, "SELECT bursts, (SELECT count(*) FROM media m WHERE m.event_id = e.event_id) "
                               "FROM events e")
    assert events == [(2, 4)]


def test_triggers_after_the_quiet_period_make_separate_sequences(tmp_path):
    config = make_config(tmp_path / "data", capture={"quiet_period_s": 0.1})
    with running_station(config) as app:
        for subject in ("wild_boar", "sika_deer"):
            app.parts.trigger_source.fire(subject)
            assert app.wait_idle(30)
    species = rows(app.db_path, "SELECT o.species_key FROM observations o JOIN events e USING (event_id) "
                                "ORDER BY e.start")
    assert species == [("wild_boar",), ("sika_deer",)]


def test_blank_sequence_is_stored_as_blank_and_sent_at_low_priority(tmp_path):
    config = make_config(tmp_path / "data")
    with running_station(config) as app:
        app.parts.trigger_source.fire("blank")
        assert app.wait_idle(30)
    assert rows(app.db_path, "SELECT observation_type, species_key FROM observations") == [("blank", None)]
    assert rows(app.db_path, "SELECT kind, priority FROM outbox") == [("detection", 2)]


def test_a_full_trigger_queue_never_blocks_the_sensor(tmp_path):
    config = make_config(tmp_path / "data", queues={"triggers": 1},
                         capture={"burst_frames": 3, "burst_interval_s": 0.2})
    with running_station(config) as app:
        for _ in range(50):
            app.parts.trigger_source.fire("human")
        bursts_meanwhile = app.stats.get("bursts")
        assert app.wait_idle(30)
    # Order, not time: the 50 fires returned while at most the first burst (0.4 s) finished. A fire that waited
    # for room in the one-place queue would have waited for dozens of bursts.
    assert bursts_meanwhile <= 1
    stats = app.stats.snapshot()
    assert stats["triggers"] == 50
    assert stats.get("triggers_dropped", 0) + stats.get("triggers_coalesced", 0) >= 45


def test_night_burst_switches_the_ir_lamp_on_then_off(tmp_path):
    config = make_config(tmp_path / "data")
    with running_station(config) as app:
        app.parts.trigger_source.fire("amur_tiger", night=True)
        assert app.wait_idle(30)
        assert app.parts.illuminator.history == [1.0, 0.0]


def test_stop_persists_the_sequence_in_flight(tmp_path):
    config = make_config(tmp_path / "data", capture={"quiet_period_s": 60.0})
    with running_station(config) as app:
        app.parts.trigger_source.fire("amur_leopard")
        wait_until(lambda: app.stats.get("bursts") >= 1, message="the burst")  # the sequence stays open for 60 s;
        assert app.stats.get("sequences_closed") == 0  # stop must close and commit it
    assert rows(app.db_path, "SELECT state FROM events") == [("closed",)]
    assert rows(app.db_path, "SELECT species_key FROM observations") == [("amur_leopard",)]
    assert rows(app.db_path, "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND kind = 'detection'") == [(1,)]
