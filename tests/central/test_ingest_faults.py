"""Ingest under trouble: alerts within seconds and once per event, records the database refuses, a worker
that dies with messages in hand."""

from __future__ import annotations

import json
import threading

import paho.mqtt.client as mqtt

from station.central.chirpstack import uplink_event, uplink_topic
from station.central.ingest import IngestWorker
from station.central.registry import StationEntry, register_stations
from station.devtools.collector import TopicCollector
from station.wire.lora_codec import DetectionFrame, lora_detection
from station.wire.messages import encode_json
from tests.central.conftest import count, ingest_workers, make_central_config
from tests.central.helpers import AT, detection
from tests.conftest import wait_until

STATION = StationEntry("tlnp-0007", "TLNP", "CN", 43.0, 130.9, dev_eui="70b3d57ed0000007")


def publisher(broker) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client


def test_an_alert_is_published_within_seconds_and_once_per_event(store, database, central_broker):
    register_stations(store, [STATION])
    config = make_central_config(database, central_broker, alerts={
        "settlements": [{"name": "Chunhua", "latitude": 43.004, "longitude": 130.9}]})  # 0.44 km
    message = detection("tlnp-0007", ["amur_tiger"])
    frame = DetectionFrame(1, int(AT.timestamp()), (lora_detection(2, 0.91, None, int(AT.timestamp())),))
    event = uplink_event(frame=frame, dev_eui=STATION.dev_eui, device_name="tlnp-0007", tags={}, f_cnt=1,
                         received_at=AT, deduplication_id="d-1", application_id="app")
    alerts = TopicCollector(central_broker.host, central_broker.port, "camtrap-central/v1/alerts/#")
    client = publisher(central_broker)
    try:
        with ingest_workers(config, 2) as workers:
            client.publish(uplink_topic("app", STATION.dev_eui), json.dumps(event), qos=1)
            # Order, not time: the alert comes from the LoRa summary alone, before any full record is sent
            # (the latency itself is measured in tests/bench/bench_alert_latency.py).
            (topic, payload), = alerts.wait_for("/conflict", 1, timeout=5)
            for _ in range(3):  # the full record (re-sent twice) after the LoRa summary: no new alert
                client.publish("camtrap/v1/tlnp-0007/detections", encode_json(message), qos=1)
            assert wait_until(lambda: count(store, "SELECT count(*) FROM events") == 1)
            # all four messages written (an alert is recorded in the same transaction as its batch)
            wait_until(lambda: sum(w.snapshot().get("received", 0) for w in workers) >= 4
                       and all(w.idle() for w in workers), message="the three full records ingested")
            assert count(store, "SELECT count(*) FROM alerts") == 1
    finally:
        client.loop_stop()
        alerts.close()
    body = json.loads(payload)
    assert (topic, body["level"], body["settlement"], body["species"]) == (
        "camtrap-central/v1/alerts/conflict", 1, "Chunhua", "amur_tiger")
    assert len(alerts.messages) == 1
    assert count(store, "SELECT count(*) FROM observations") == 1


def test_a_record_the_database_refuses_is_dead_lettered_and_the_rest_stored(store, database, central_broker):
    config = make_central_config(database, central_broker, ingest={"batch_size": 50})
    good = [detection("tlnp-0007", ["roe_deer"], AT.replace(minute=m), seed=m) for m in range(5)]
    refused = detection("tlnp-0007", ["roe_deer"], AT.replace(minute=30), seed=99).model_copy(
        update={"trigger": "pir\x00"})  # valid JSON, but PostgreSQL text cannot hold NUL
    client = publisher(central_broker)
    try:
        with ingest_workers(config, 1) as (worker,):
            for message in [*good[:3], refused, *good[3:]]:
                client.publish("camtrap/v1/tlnp-0007/detections", encode_json(message), qos=1)
            assert wait_until(lambda: count(store, "SELECT count(*) FROM dead_letters") == 1 and worker.idle())
    finally:
        client.loop_stop()
    assert count(store, "SELECT count(*) FROM events") == 5
    (reason,) = store.execute("SELECT reason FROM dead_letters").fetchone()
    assert reason.startswith("refused by the store: DataError")


def test_a_worker_that_dies_holding_messages_loses_none(store, database, central_broker):
    """Its unacknowledged messages come back when it reconnects under the same name; rows exist once."""
    config = make_central_config(database, central_broker)
    stuck = threading.Event()
    doomed = IngestWorker(config, name="1")
    doomed._handle = lambda writer, batch: stuck.wait()  # receives, never writes nor acknowledges
    doomed.start()
    messages = [detection("tlnp-0007", ["wild_boar"], AT.replace(minute=m), seed=m) for m in range(20)]
    client = publisher(central_broker)
    try:
        for message in messages:
            client.publish("camtrap/v1/tlnp-0007/detections", encode_json(message), qos=1).wait_for_publish(5)
        assert wait_until(lambda: doomed._deliveries.qsize() + doomed._busy.is_set() > 0, timeout=5)
        doomed._client.loop_stop()  # dies: no DISCONNECT, the broker keeps its session and in-flight messages
        doomed._client.socket().close()
        stuck.set()
        with ingest_workers(config, 1) as (worker,):  # the same name "1": the session and its messages come back
            assert wait_until(lambda: count(store, "SELECT count(*) FROM events") == len(messages), timeout=20)
            wait_until(lambda: count(store, "SELECT count(*) FROM observations") == len(messages)
                       and worker.idle(), message="the redelivered messages written")  # stopping drains the rest
    finally:
        client.loop_stop()
        doomed._stopping.set()
        doomed._thread.join(timeout=5)
        doomed._conn.close()
    assert count(store, "SELECT count(*) FROM events") == len(messages)
    assert count(store, "SELECT count(*) FROM observations") == len(messages)


def test_an_unreachable_broker_says_what_to_do(database):
    from station.devtools.mosquitto import free_port
    from station.errors import UplinkError

    config = make_central_config(database)
    config.mqtt.port = free_port()
    try:
        IngestWorker(config, name="x").start(timeout=2)
    except UplinkError as exc:
        assert "cannot reach the broker at 127.0.0.1" in str(exc) and "fix [mqtt] in central.toml" in str(exc)
    else:
        raise AssertionError("the worker started without a broker")
