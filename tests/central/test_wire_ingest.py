"""A station's backlog crosses a real broker as compressed batches and lands in PostgreSQL once; a repeated
batch changes nothing; a batch in an encoding the server does not ship is dead-lettered with the reason."""

from __future__ import annotations

import json

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from station.central.registry import StationEntry, register_stations
from station.central.scenario import FleetPlan, Scenario
from station.config.models import MqttSection
from station.devtools.collector import TopicCollector
from station.stats import Stats
from station.store.repo import OutboxMessage, StationStore
from station.uplink.mqtt import MqttUplink
from tests.central.conftest import count, ingest_workers, make_central_config
from tests.conftest import wait_until


def backlog(db_path, station_id: str) -> tuple[Scenario, int, int]:
    """One simulated station's day of detections and telemetry, queued as if the link had been down."""
    scenario = Scenario(FleetPlan(stations=1, hours=24, seed=5, thumbnails=False, lora_share=0.0,
                                  outage_share=0.0, duplicate_share=0.0, telemetry_interval_s=3600.0))
    store = StationStore(db_path)
    detections = telemetry = 0
    for publication in scenario.publications():
        if publication.kind not in ("detection", "telemetry"):
            continue
        body = publication.payload.replace(scenario.stations[0].station_id.encode(), station_id.encode())
        message_id = json.loads(body)["id"]
        store.enqueue(OutboxMessage(message_id=message_id, kind=publication.kind, priority=1,
                                    topic="detections" if publication.kind == "detection" else "telemetry",
                                    payload=body, content_type="application/json"))
        detections += publication.kind == "detection"
        telemetry += publication.kind == "telemetry"
    store.close()
    return scenario, detections, telemetry


def publish_raw(broker, topic: str, payload: bytes, content_type: str) -> None:
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    props = Properties(PacketTypes.PUBLISH)
    props.ContentType = content_type
    client.publish(topic, payload, qos=1, properties=props).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def test_a_backlog_goes_in_batches_and_is_stored_once(store, database, central_broker, tmp_path):
    station_id = "llnp-0777"
    scenario, detections, telemetry = backlog(tmp_path / "station.db", station_id)
    assert detections >= 8
    entry = scenario.registry()[0]
    register_stations(store, [StationEntry(station_id, entry.park, entry.country, entry.latitude, entry.longitude)])
    wire = TopicCollector(central_broker.host, central_broker.port, f"camtrap/v1/{station_id}/#")
    stats = Stats()
    config = make_central_config(database, central_broker)
    with ingest_workers(config, 1):
        uplink = MqttUplink(settings=MqttSection(port=central_broker.port, batch_max=5), station_id=station_id,
                            db_path=tmp_path / "station.db", stats=stats)
        uplink.start()
        try:
            assert wait_until(lambda: uplink.delivered == detections + telemetry, timeout=30)
        finally:
            uplink.stop()
        assert wait_until(lambda: count(store, "SELECT count(*) FROM events") == detections
                          and count(store, "SELECT count(*) FROM telemetry") == telemetry, timeout=30)
        batches = [r for r in wire.raw if r[0].endswith("/batch")]
        assert len(batches) >= (detections + telemetry) // 5 - 1 and stats.snapshot()["mqtt_batches"] == len(batches)
        topic, payload, content_type, _ = batches[0]
        publish_raw(central_broker, topic, payload, content_type)  # the same batch again (at-least-once)
        publish_raw(central_broker, topic, payload, content_type.replace("dict=1", "dict=9"))
        assert wait_until(lambda: count(store, "SELECT count(*) FROM dead_letters") == 1, timeout=20)
    wire.close()
    assert count(store, "SELECT count(*) FROM events") == detections
    assert count(store, "SELECT count(*) FROM telemetry") == telemetry
    reason = store.execute("SELECT reason FROM dead_letters").fetchone()[0]
    assert "zstd dictionary 9 is unknown here" in reason and "upgrade trapd" in reason
