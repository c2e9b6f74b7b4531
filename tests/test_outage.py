"""Long outages and flapping links: every queued message arrives, once per id after dedup, in priority order."""

from __future__ import annotations

import json
import random
import sqlite3
import threading

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from station.config.models import MqttSection
from station.stats import Stats
from station.store.repo import StationStore
from station.uplink.mqtt import MqttUplink
from station.wire.encoding import decode_payload
from station.wire.ids import uuid7
from tests.conftest import make_config, running_station, wait_until


def queue_messages(db_path, count: int, seed: int = 3) -> dict[str, int]:
    rng = random.Random(seed)
    store = StationStore(db_path)
    priorities = {}
    with store.db.atomic():
        for _ in range(count):
            message_id, priority = uuid7(), rng.choice([0, 1, 1, 2, 2, 2])
            store.db["outbox"].insert({"message_id": message_id, "kind": "detection", "priority": priority,
                                       "topic": "detections", "payload": json.dumps({"id": message_id}).encode(),
                                       "content_type": "application/json", "created_at": "2026-01-01T00:00:00Z"})
            priorities[message_id] = priority
    store.close()
    return priorities


def unsent(db_path) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]


def test_ten_thousand_detections_queued_during_an_outage_all_arrive_in_priority_order(tmp_path, broker):
    central = PersistentCentral(broker)  # its session survives the outage, so it cannot miss a message
    broker.stop()
    db = tmp_path / "station.db"
    priorities = queue_messages(db, 10_000)
    stats = Stats()
    uplink = MqttUplink(settings=MqttSection(port=broker.port, reconnect_max_s=2.0, inflight=64),
                        station_id="outage-station", db_path=db, stats=stats)
    uplink.start()
    try:  # the station is retrying against a dead broker
        wait_until(lambda: stats.get("mqtt_connect_failures") >= 1, message="a failed connect")
        broker.start()
        central.wait_for_ids(set(priorities), timeout=180)
        wait_until(lambda: unsent(db) == 0, timeout=30, interval=0.1, message="every row marked sent (PUBACKs settled)")
    finally:
        uplink.stop()
        central.close()
    first_seen = list(dict.fromkeys(central.order))
    assert set(first_seen) == set(priorities)  # all 10,000, each id at least once
    order = [priorities[i] for i in first_seen]
    assert order == sorted(order)  # people and big cats first, blanks last
    assert unsent(db) == 0


def test_flapping_broker_during_a_burst_storm_loses_nothing(tmp_path, broker):
    central = PersistentCentral(broker)
    config = make_config(tmp_path / "data", broker=broker,
                         capture={"timelapse_s": 0.1, "quiet_period_s": 0.05, "burst_frames": 2},
                         mqtt={"thumbnail_max_bytes": 0})
    with running_station(config) as app:
        for _ in range(4):  # the link drops again and again while bursts keep coming, up and down alike
            bursts = app.stats.get("bursts")
            wait_until(lambda b=bursts: app.parts.uplink.connected and app.stats.get("bursts") >= b + 5,
                       message="bursts with the link up")
            broker.stop()
            bursts = app.stats.get("bursts")
            wait_until(lambda b=bursts: not app.parts.uplink.connected and app.stats.get("bursts") >= b + 3,
                       message="bursts with the link down")
            broker.start()
        app.parts.timelapse.stop()
        assert app.wait_idle(30)
        with sqlite3.connect(app.db_path) as conn:
            queued = {r[0] for r in conn.execute("SELECT message_id FROM outbox WHERE kind = 'detection'")}
        central.wait_for_ids(queued, timeout=60)
    central.close()
    assert len(queued) >= 10
    assert queued <= central.ids, f"{len(queued - central.ids)} detections never arrived"


class PersistentCentral:
    """The central side with a persistent session on a broker that keeps sessions across restarts."""

    def __init__(self, broker) -> None:
        broker.extra_config = (f"persistence true\npersistence_location {broker.workdir}/\nautosave_interval 1\n"
                               "max_queued_messages 20000\n")
        broker.stop()
        broker.start()
        self.ids: set[str] = set()
        self.order: list[str] = []
        self._client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id="central-1",
                                   protocol=mqtt.MQTTv5)
        self._subscribed = threading.Event()
        self._client.on_connect = lambda c, u, f, rc, p: c.subscribe([("camtrap/v1/+/detections", 1),
                                                                      ("camtrap/v1/+/batch", 1)])
        self._client.on_subscribe = lambda c, u, mid, codes, p: self._subscribed.set()
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(min_delay=0.1, max_delay=0.5)
        session = Properties(PacketTypes.CONNECT)
        session.SessionExpiryInterval = 3600
        self._client.connect(broker.host, broker.port, clean_start=False, properties=session)
        self._client.loop_start()
        wait_until(self._subscribed.is_set, timeout=10, message="the central side's subscription")

    def _on_message(self, client, userdata, message) -> None:
        content_type = getattr(message.properties, "ContentType", None) if message.properties else None
        for line in decode_payload(message.payload, content_type).split(b"\n"):  # one message, or a batch
            message_id = json.loads(line)["id"]
            self.order.append(message_id)
            self.ids.add(message_id)

    def wait_for_ids(self, wanted: set[str], timeout: float) -> None:
        wait_until(lambda: wanted <= self.ids, timeout=timeout, interval=0.1,
                   message=lambda: f"{len(wanted - self.ids)} of {len(wanted)} ids still to arrive")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
