"""An MQTT subscriber that stands in for the central server in the demo and the tests.

It reads the wire like the central server does (``station/wire/encoding.py``): ``messages`` holds every
station message as its JSON (or image), a batch opened into its messages on the topics they would have had
alone; ``raw`` keeps exactly what arrived (topic, payload, content type).
"""

from __future__ import annotations

import threading
import time
from typing import TypedDict

import paho.mqtt.client as mqtt

from station.errors import UplinkError
from station.wire.encoding import WireFormatError, decode_payload, parse_content_type

BATCH_TOPICS = {"detection": "detections", "telemetry": "telemetry", "status": "status"}


class TlsFiles(TypedDict, total=False):
    """The keyword arguments of paho's ``tls_set`` a collector passes on for a TLS broker."""

    ca_certs: str
    certfile: str
    keyfile: str


class TopicCollector:
    """Subscribes to ``topic`` (QoS 1) and keeps every message received, in order."""

    def __init__(self, host: str, port: int, topic: str, *, timeout: float = 5.0,
                 tls: TlsFiles | None = None) -> None:
        """``tls``: keyword arguments of paho's ``tls_set`` (ca_certs, certfile, keyfile) for a TLS broker."""
        self.messages: list[tuple[str, bytes]] = []
        self.raw: list[tuple[str, bytes, str | None, bytes | None]] = []  # + content type, correlation data
        self._lock = threading.Condition()
        subscribed = threading.Event()
        self._client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self._client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self._client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
        self._client.on_message = self._on_message
        if tls:
            self._client.tls_set(**tls)
        self._client.connect(host, port)
        self._client.loop_start()
        if not subscribed.wait(timeout):
            self.close()
            raise UplinkError(f"could not subscribe to {topic} on {host}:{port}")

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        content_type = getattr(message.properties, "ContentType", None) if message.properties else None
        correlation = getattr(message.properties, "CorrelationData", None) if message.properties else None
        payload = bytes(message.payload)
        with self._lock:
            self.raw.append((message.topic, payload, content_type, correlation))
            self.messages.extend(_opened(message.topic, payload, content_type))
            self._lock.notify_all()

    def matching(self, suffix: str) -> list[tuple[str, bytes]]:
        with self._lock:
            return [(t, p) for t, p in self.messages if t.endswith(suffix)]

    def wait_for(self, suffix: str, count: int, timeout: float = 10.0) -> list[tuple[str, bytes]]:
        """Messages whose topic ends with ``suffix``, once there are at least ``count`` (or at the timeout)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len([1 for t, _ in self.messages if t.endswith(suffix)]) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
        return self.matching(suffix)

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


def _opened(topic: str, payload: bytes, content_type: str | None) -> list[tuple[str, bytes]]:
    """The station messages in one MQTT message (an unreadable one is kept as it came)."""
    if content_type and content_type.startswith("image/"):
        return [(topic, payload)]
    try:
        body = decode_payload(payload, content_type)
        batch = parse_content_type(content_type).batch
    except WireFormatError:
        return [(topic, payload)]
    if not batch:
        return [(topic, body)]
    prefix = topic.rsplit("/", 1)[0]
    out = []
    for line in body.split(b"\n"):
        kind = line[len(b'{"schema":"'):].split(b"/", 1)[0].decode("ascii", "replace")
        out.append((f"{prefix}/{BATCH_TOPICS.get(kind, 'batch')}", line))
    return out
