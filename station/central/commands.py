"""Send a command to a station the way docs/wire.md asks: QoS 1, a message expiry, ``sent_at``/``expires_at``
in the request, an MQTT 5 response topic and correlation data; then wait for the reply.

A station that is offline gets the command when it returns, if it has connected before (the broker keeps
its persistent session and queues the command) and if the command has not expired by then.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import threading
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from station.central.config import CentralMqttSection
from station.errors import UplinkError
from station.wire.encoding import WireFormatError, decode_payload
from station.wire.ids import iso


@dataclasses.dataclass(frozen=True)
class SentCommand:
    request_id: str
    expires_at: str
    reply: dict | None  # None: no reply within the wait (the broker may still hold the command)


def new_request_id(now: datetime) -> str:
    return f"ops-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def send_command(settings: CentralMqttSection, station_id: str, name: str, args: dict, *, expires_in_s: float,
                 wait_s: float, request_id: str | None = None) -> SentCommand:
    now = datetime.now(UTC)
    request_id = request_id or new_request_id(now)
    expires_at = iso(now + timedelta(seconds=expires_in_s))
    prefix = f"{settings.topic_root.rstrip('/')}/{station_id}/"
    reply_topic = f"{prefix}cmd_result/{request_id}"
    correlation = secrets.token_bytes(8)
    got: list[dict] = []
    arrived, subscribed = threading.Event(), threading.Event()

    def on_message(client, userdata, message: mqtt.MQTTMessage) -> None:
        # A repeated request id is answered with the stored reply, which carries the first request's
        # correlation data: the request id in the reply is what identifies it.
        content_type = getattr(message.properties, "ContentType", None)
        try:
            reply = json.loads(decode_payload(bytes(message.payload), content_type))
        except (WireFormatError, ValueError):
            return
        if isinstance(reply, dict) and reply.get("request_id") == request_id:
            got.append(reply)
            arrived.set()

    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5,
                         client_id=f"{settings.client_id}-cmd-{secrets.token_hex(3)}")
    if settings.username:
        client.username_pw_set(settings.username, settings.password)
    client.on_message = on_message
    client.on_subscribe = lambda c, u, mid, codes, p: subscribed.set()
    try:
        client.connect(settings.host, settings.port, keepalive=30)
    except OSError as exc:
        raise UplinkError(f"cannot reach the broker at {settings.host}:{settings.port} ({exc}); check [mqtt] "
                          "in central.toml") from exc
    client.loop_start()
    try:
        client.subscribe(reply_topic, qos=1)
        subscribed.wait(5)
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = "application/json"
        props.MessageExpiryInterval = max(1, int(expires_in_s))
        props.ResponseTopic = reply_topic
        props.CorrelationData = correlation
        body = {"request_id": request_id, "args": args, "sent_at": iso(now), "expires_at": expires_at}
        info = client.publish(f"{prefix}cmd/{name}", json.dumps(body).encode(), qos=1, properties=props)
        info.wait_for_publish(10)
        if not info.is_published():
            raise UplinkError(f"the broker at {settings.host}:{settings.port} did not acknowledge the command")
        arrived.wait(wait_s)
    finally:
        client.disconnect()
        client.loop_stop()
    return SentCommand(request_id, expires_at, got[0] if got else None)
