"""Publishing the alerts ingest raised, and noting which ones the broker has taken (``alerts.published_at``).

Alerts go out at QoS 1 on ``<alerts.topic_root>/<kind>``. paho reports each PUBACK on its own network thread,
sometimes before ``publish()`` has returned the message id to us, so both sides meet under one lock and an
early acknowledgement is kept until its id is known. The worker's writer thread marks the acknowledged
alerts published in the database; after a crash, alerts stored but maybe never published are sent again
(claimed atomically: at-least-once).
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from station.central.alerts import Alert

if TYPE_CHECKING:
    import psycopg


class AlertPublisher:
    """Alerts out over one worker's MQTT client; which of them the broker acknowledged."""

    def __init__(self, client: mqtt.Client, topic_root: str) -> None:
        self._client = client
        self._root = topic_root.rstrip("/")
        self._published: list[str] = []
        self._in_flight: dict[int, str] = {}
        self._early_acks: set[int] = set()
        self._lock = threading.Lock()

    def on_publish(self, mid: int) -> None:
        """paho's PUBACK callback: it holds its own message lock, so take only ours, never call into paho."""
        with self._lock:
            alert_id = self._in_flight.pop(mid, None)
            if alert_id is None:
                self._early_acks.add(mid)  # PUBACK came before publish() returned its mid to us
            else:
                self._published.append(alert_id)

    def publish(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            self.publish_payload(alert.kind, alert.payload(), alert.alert_id)

    def publish_payload(self, kind: str, payload: dict[str, Any], alert_id: str) -> None:
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = "application/json"
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        info = self._client.publish(f"{self._root}/{kind}", body, qos=1, properties=props)  # never under our lock
        with self._lock:
            if info.mid in self._early_acks:
                self._early_acks.discard(info.mid)
                self._published.append(alert_id)
            else:
                self._in_flight[info.mid] = alert_id

    def mark_published(self, conn: psycopg.Connection | None) -> None:
        """Note in the database the alerts the broker has acknowledged since the last call."""
        with self._lock:
            done, self._published = self._published, []
        if done and conn is not None and not conn.closed:
            with conn.transaction():
                conn.execute("UPDATE alerts SET published_at = now() WHERE alert_id = ANY(%s)", [done])

    def republish_unpublished(self, conn: psycopg.Connection) -> None:
        """Alerts a crashed worker stored but may not have published (claimed atomically; at-least-once)."""
        with conn.transaction():
            rows = conn.execute(
                "UPDATE alerts SET published_at = now() WHERE published_at IS NULL AND raised_at > now() - "
                "interval '1 hour' AND raised_at < now() - interval '10 seconds' RETURNING alert_id, kind, payload"
            ).fetchall()
        for alert_id, kind, payload in rows:
            self.publish_payload(kind, payload, alert_id)
