"""Alerts before the sequence closes: a person (or a big cat near a village) in one frame leaves the station at
once as a provisional alert; the central side raises its alert from it, and the full record later confirms it
(or withdraws it when the sequence says otherwise) without raising a second one."""

from __future__ import annotations

import json
from datetime import timedelta

from station.central.registry import StationEntry, register_stations
from station.central.store import IngestWriter
from station.wire.ids import iso, utc_now, uuid7
from station.wire.messages import AlertDetection, AlertMessage, DetectionMessage, ModelRef, WireDetection
from tests.central.conftest import count, ingest_workers, make_central_config
from tests.conftest import make_config, running_station, wait_until

ZONE = {"name": "TLNP core zone", "polygon": [[42.9, 130.8], [42.9, 131.0], [43.1, 131.0], [43.1, 130.8]]}


def test_a_person_alert_arrives_while_the_sequence_is_still_open(store, database, central_broker, tmp_path):
    station = make_config(tmp_path / "data", broker=central_broker, capture={"quiet_period_s": 6.0},
                          station={"id": "tlnp-0042", "park": "TLNP", "country": "CN"})
    register_stations(store, [StationEntry("tlnp-0042", "TLNP", "CN", 43.01, 130.9)])
    central = make_central_config(database, central_broker, alerts={"protected_zones": [ZONE]})
    with ingest_workers(central, 1), running_station(station) as app:
        app.parts.trigger_source.fire("human")
        assert wait_until(lambda: count(store, "SELECT count(*) FROM alerts WHERE kind = 'ranger'") == 1, timeout=20)
        assert app.stats.get("sequences_closed") == 0  # the quiet period has not even ended
        assert count(store, "SELECT count(*) FROM events") == 0  # no full record yet
        assert app.wait_idle(30)
        assert wait_until(lambda: count(store, "SELECT count(*) FROM events") == 1, timeout=20)
        assert wait_until(lambda: count(store, "SELECT count(*) FROM alerts WHERE confirmed_at IS NOT NULL") == 1)
    assert count(store, "SELECT count(*) FROM alerts") == 1  # confirmed, not raised a second time
    assert count(store, "SELECT count(*) FROM alerts WHERE payload->>'source' = 'provisional'") == 1
    assert app.stats.get("alerts_sent") == 1  # one per species and sequence, not one per frame


def _alert(station: str, sequence: str, start, species: str) -> AlertMessage:
    return AlertMessage(id=uuid7(), station_id=station, sequence_id=sequence, start=iso(start),
                        at=iso(start + timedelta(seconds=1)), media_id=uuid7(),
                        detections=[AlertDetection(species=species, species_code=1, confidence=0.8)],
                        models=[ModelRef(name="m", version="1")])


def _record(station: str, sequence: str, start, species: list[str]) -> DetectionMessage:
    detections = [WireDetection(observation_id=uuid7(), species=key, species_code=5, scientific_name=None,
                                observation_type="animal", confidence=0.9, frames_seen=2, best_media_id=uuid7())
                  for key in species]
    return DetectionMessage(id=uuid7(), station_id=station, sequence_id=sequence, start=iso(start),
                            end=iso(start + timedelta(seconds=20)), trigger="pir", frames=6, empty=not species,
                            detections=detections, model=ModelRef(name="m", version="1"))


def test_the_full_record_withdraws_an_alert_it_does_not_confirm(store, database):
    from station.central.config import AlertsSection
    from station.central.store import record_alerts

    register_stations(store, [StationEntry("tlnp-0043", "TLNP", "CN", 43.01, 130.9)])
    writer = IngestWriter(store, AlertsSection(protected_zones=[ZONE]))
    start, sequence = utc_now().replace(microsecond=0), uuid7()
    with store.transaction():
        raised = writer.write(_alert("tlnp-0043", sequence, start, "human"), utc_now()).raised
    assert [a.kind for a in raised] == ["ranger"]
    with store.transaction():  # the whole sequence, classified again, was a sika deer
        written = writer.write(_record("tlnp-0043", sequence, start, ["sika_deer"]), utc_now())
        record_alerts(store, written.alerts)
    (withdrawn,) = written.withdrawn
    assert withdrawn[0] == raised[0].alert_id and withdrawn[2]["withdrawn"] is True
    assert count(store, "SELECT count(*) FROM alerts WHERE withdrawn_at IS NOT NULL") == 1
    with store.transaction():  # the same alert again (at-least-once) raises nothing new
        assert writer.write(_alert("tlnp-0043", sequence, start, "human"), utc_now()).raised == []


def _garbage_alerts(station: str, start) -> list[tuple[str, bytes, str]]:
    """(topic, payload, what the dead letter must say) for alerts a worker must refuse, never act on."""
    good = json.loads(_alert(station, uuid7(), start, "human").model_dump_json(by_alias=True))
    future = {**good, "start": iso(start + timedelta(days=30)), "at": iso(start + timedelta(days=30, seconds=1))}
    stale_frame = {**good, "at": iso(start + timedelta(days=3))}
    swarm = {**good, "detections": good["detections"] * 10_000}
    topic = f"camtrap/v1/{station}/alert"
    return [
        (topic, json.dumps({**good, "station_id": "tlnp-9999"}).encode(), "does not match the topic"),
        (topic, json.dumps(future).encode(), "in the future"),
        (topic, json.dumps(stale_frame).encode(), "within a day"),
        (topic, json.dumps(swarm).encode(), "at most 64 species"),
        (topic, b'{"schema": "alert/1.0", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deep"),
        (topic, b"\xff\xfe not json", "not JSON"),
    ]


def test_forged_and_garbage_alerts_are_dead_lettered_and_the_batch_is_stored(store, database, central_broker):
    """Attacks on <root>/<station>/alert: each lands in dead_letters with its reason, no alert is raised, and
    the good records in the same batch are stored (a message that crashes decoding must not park them all)."""
    import paho.mqtt.client as mqtt

    register_stations(store, [StationEntry("tlnp-0044", "TLNP", "CN", 43.01, 130.9)])
    central = make_central_config(database, central_broker, alerts={"protected_zones": [ZONE]},
                                  ingest={"batch_size": 50})
    start = utc_now().replace(microsecond=0)
    garbage = _garbage_alerts("tlnp-0044", start)
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.connect(central_broker.host, central_broker.port)
    client.loop_start()
    try:
        with ingest_workers(central, 1) as (worker,):
            for minute in range(3):  # the good records around the garbage: the worker must outlive it
                if minute == 1:
                    for topic, payload, _ in garbage:
                        client.publish(topic, payload, qos=1)
                client.publish("camtrap/v1/tlnp-0044/detections",
                               _record("tlnp-0044", uuid7(), start - timedelta(minutes=minute + 1),
                                       ["sika_deer"]).model_dump_json(by_alias=True), qos=1)
            assert wait_until(lambda: count(store, "SELECT count(*) FROM dead_letters") == len(garbage)
                              and count(store, "SELECT count(*) FROM events") == 3 and worker.idle(), timeout=30)
    finally:
        client.loop_stop()
    reasons = [row[0] for row in store.execute("SELECT reason FROM dead_letters ORDER BY id")]
    for _, _, expected in garbage:
        assert any(expected in reason for reason in reasons), (expected, reasons)
    assert count(store, "SELECT count(*) FROM alerts") == 0


def test_an_alert_after_its_full_record_raises_nothing(store, database):
    """Delivered late (after the sequence's record said sika deer): a person alert would never be withdrawn."""
    from station.central.config import AlertsSection

    register_stations(store, [StationEntry("tlnp-0045", "TLNP", "CN", 43.01, 130.9)])
    writer = IngestWriter(store, AlertsSection(protected_zones=[ZONE]))
    start, sequence = utc_now().replace(microsecond=0), uuid7()
    with store.transaction():
        assert writer.write(_record("tlnp-0045", sequence, start, ["sika_deer"]), utc_now()).alerts == []
    with store.transaction():
        written = writer.write(_alert("tlnp-0045", sequence, start, "human"), utc_now())
    assert written.raised == [] and not written.stored
    assert count(store, "SELECT count(*) FROM alerts") == 0
    with store.transaction():  # a new sequence of the station still raises its alert
        assert [a.kind for a in writer.write(_alert("tlnp-0045", uuid7(), start, "human"), utc_now()).raised] == [
            "ranger"]
