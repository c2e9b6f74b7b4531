"""Nothing is lost while the broker is away; everything is delivered, once per id, when it returns."""

from __future__ import annotations

import sqlite3
import time

from station.store.outbox import pending_count
from station.wire.messages import DetectionMessage
from tests.conftest import make_config, running_station, wait_until


def unsent(db_path) -> int:
    with sqlite3.connect(db_path) as conn:
        return pending_count(conn)


def test_broker_down_then_up_delivers_every_detection_once_per_id(tmp_path, broker, collector_for):
    broker.stop()
    config = make_config(tmp_path / "data", broker=broker, capture={"quiet_period_s": 0.05})
    subjects = ["amur_tiger", "human", "sika_deer", "wild_boar", "amur_leopard", "blank"]
    with running_station(config) as app:
        for subject in subjects:
            app.parts.trigger_source.fire(subject)
            assert app.wait_idle(30)
        with sqlite3.connect(app.db_path) as conn:
            queued = [r[0] for r in conn.execute("SELECT message_id FROM outbox WHERE kind = 'detection'")]
            assert conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL").fetchone()[0] == 0
        assert len(queued) == len(subjects)
        broker.start()
        collector = collector_for(broker, "camtrap/v1/test-station/#")
        received = collector.wait_for("/detections", len(subjects), timeout=30)
        wait_until(lambda: unsent(app.db_path) == 0, timeout=30, message="every row marked sent (PUBACKs settled)")
    ids = [DetectionMessage.model_validate_json(p).id for _, p in received]
    assert sorted(set(ids)) == sorted(queued)  # each one arrived; duplicates (same id) are allowed
    # the backlog went as batches (one zstd frame for many detections), not one publish per detection
    batches = [ct for t, _, ct, _ in collector.raw if t.endswith("/batch")]
    assert batches and set(batches) == {"application/vnd.trapd.batch+zstd;dict=1"}
    # priority order: people and big cats before other animals before blanks
    first_seen = list(dict.fromkeys(ids))
    priorities = [DetectionMessage.model_validate_json(p) for _, p in received]
    by_id = {m.id: m for m in priorities}
    species = [by_id[i].detections[0].species if by_id[i].detections else "blank" for i in first_seen]
    assert set(species[:3]) == {"amur_tiger", "human", "amur_leopard"}
    assert species[-1] == "blank"
    with sqlite3.connect(app.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0] == 0


def test_a_broker_whose_acl_refuses_batches_still_gets_every_message_one_by_one(tmp_path, collector_for):
    """A broker set up before batches existed (its ACL lacks <root>/<id>/batch): nothing may get stuck."""
    from station.config.models import MqttSection
    from station.devtools.mosquitto import PrivateBroker
    from station.stats import Stats
    from station.store.repo import OutboxMessage, StationStore
    from station.uplink.mqtt import MqttUplink
    from tests.test_wire_bytes import documented_example

    acl = tmp_path / "acl"
    acl.write_text("topic read camtrap/v1/#\n"  # the anonymous test subscriber
                   "pattern write camtrap/v1/%u/status\npattern write camtrap/v1/%u/detections\n"
                   "pattern read camtrap/v1/%u/cmd/#\n")
    listener = f"listener {{port}} {{host}}\nallow_anonymous true\nacl_file {acl}\n"
    store = StationStore(tmp_path / "station.db")
    ids = []
    for n in range(12):
        body = documented_example().replace(b"5f6e-7a01", f"5f6e-{n:04x}".encode()).replace(
            b'"llnp-0412"', b'"old-acl-station"')
        ids.append(DetectionMessage.model_validate_json(body).id)
        store.enqueue(OutboxMessage(message_id=ids[-1], kind="detection", priority=1, topic="detections",
                                    payload=body, content_type="application/json"))
    store.close()
    with PrivateBroker(workdir=tmp_path / "broker", listener=listener) as broker:
        central = collector_for(broker, "camtrap/v1/#")
        stats = Stats()
        uplink = MqttUplink(settings=MqttSection(port=broker.port, username="old-acl-station"),
                            station_id="old-acl-station", db_path=tmp_path / "station.db", stats=stats)
        uplink.start()
        try:
            received = central.wait_for("/detections", len(ids), timeout=30)
            wait_until(lambda: unsent(tmp_path / "station.db") == 0, timeout=30,
                       message="every row marked sent (PUBACKs settled)")
        finally:
            uplink.stop()
    assert sorted({DetectionMessage.model_validate_json(p).id for _, p in received}) == sorted(ids)
    assert stats.snapshot().get("mqtt_batches_refused") == 1
    with sqlite3.connect(tmp_path / "station.db") as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0] == 0



def test_a_message_in_flight_as_the_station_stops_is_marked_sent_when_its_ack_comes(tmp_path):
    """stop() while a detection is on the wire and its PUBACK still on the way (a slow link), with the worker
    descheduled between handing it to paho and noting it in flight: the row must end marked sent, so the next
    start does not send it again. (The grace for acknowledgements used to be judged from the stopping thread,
    which could see nothing in flight yet.)"""
    from station.config.models import MqttSection
    from station.stats import Stats
    from station.store.repo import OutboxMessage, StationStore
    from station.uplink.mqtt import MqttUplink
    from tests.test_wire_bytes import RecordingBroker, documented_example

    db_path = tmp_path / "station.db"
    store = StationStore(db_path)
    example = documented_example()
    store.enqueue(OutboxMessage(message_id=DetectionMessage.model_validate_json(example).id, kind="detection",
                                priority=0, topic="detections", payload=example, content_type="application/json"))
    store.close()
    broker = RecordingBroker(ack_delay_s=0.5)
    uplink = MqttUplink(settings=MqttSection(port=broker.port), station_id="llnp-0412", db_path=db_path,
                        stats=Stats())
    publish = uplink._client.publish  # fault injection: the worker thread loses the CPU right after publish()

    def descheduled_publish(topic, *args, **kwargs):
        info = publish(topic, *args, **kwargs)
        if topic.endswith("/detections"):
            time.sleep(0.2)
        return info

    uplink._client.publish = descheduled_publish  # type: ignore[method-assign]
    uplink.start()
    try:
        assert broker.detection.wait(15)  # on the wire; its PUBACK comes 0.5 s later
    finally:
        uplink.stop()  # the grace (2 s) covers the PUBACK
    assert unsent(db_path) == 0, "acknowledged within the grace, yet left to be sent again"
