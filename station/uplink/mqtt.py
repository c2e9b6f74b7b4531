"""MQTT uplink: drains the outbox to a broker with QoS 1; a row is marked sent only on PUBACK.

paho-mqtt's network thread does the socket work and reconnects with backoff; this worker thread owns the
outbox connection, keeps at most ``inflight`` messages awaiting acknowledgement, and wakes only when there
is something to do (new outbox rows, an acknowledgement, a reconnect): an idle station does not poll.
While the broker is away, rows simply stay unsent in SQLite; paho re-sends its in-flight messages after a
reconnect (with the DUP flag) and anything not yet handed to paho is read again from the outbox.

Payloads are encoded for the wire here (``mqtt.encoding``, docs/wire.md), and a backlog goes in batches
(``framing.py``). The session is persistent (``clean_start`` false, ``mqtt.session_expiry_s``): commands sent
while the station was away are waiting for it when it returns.
"""

from __future__ import annotations

import collections
import logging
import random
import ssl
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from station import __version__
from station.config.models import MqttSection
from station.errors import UplinkError
from station.stats import Stats
from station.store.outbox import OutboxReader
from station.uplink.framing import publishes
from station.wire.encoding import WireEncoder
from station.wire.ids import iso, utc_now, uuid7
from station.wire.messages import ModelRef, StationState, StatusMessage, encode_json

log = logging.getLogger(__name__)

#: MQTT 5 flow control for commands: the broker sends at most this many unacknowledged cmd/ messages, and
#: each is acknowledged only once its reply is committed, so a flood waits at the broker, never in memory.
COMMAND_RECEIVE_MAXIMUM = 20


class MqttUplink:
    def __init__(self, *, settings: MqttSection, station_id: str, db_path: Path, stats: Stats,
                 model: ModelRef | None = None, resolve: Callable[[Path], Path] = lambda p: p,
                 on_command: Callable[..., None] | None = None,
                 on_link_change: Callable[[], None] | None = None) -> None:
        self._settings = settings
        self._station_id = station_id
        self._db_path = db_path
        self._stats = stats
        self._model = model
        self._resolve = resolve
        self._on_command = on_command
        self._on_link_change = on_link_change or (lambda: None)
        self._last_failure = ""
        self.prefix = f"{settings.topic_root.rstrip('/')}/{station_id}/"
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._acked: collections.deque[tuple[int, bool]] = collections.deque()
        self._inflight: dict[int, tuple[str, ...]] = {}  # paho mid -> the outbox message ids it carries
        self._wire = WireEncoder(settings.encoding)
        self._refused: set[str] = set()
        self._single_only = False  # set when the broker refuses a batch (an ACL from before batches)
        self._client = self._make_client()
        self._thread = threading.Thread(target=self._run, name="uplink-mqtt", daemon=True)
        self._drain_timeout = 2.0  # set by stop(): how long acknowledgements of in-flight messages are awaited
        self.delivered = 0

    # -- life cycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self._settings.session_expiry_s
        props.ReceiveMaximum = COMMAND_RECEIVE_MAXIMUM
        self._client.connect_async(self._settings.host, self._settings.port, keepalive=self._settings.keepalive_s,
                                   clean_start=False, properties=props)
        self._client.loop_start()
        self._thread.start()

    def stop(self, *, drain_timeout: float = 2.0) -> None:
        """Stop after a short grace for in-flight acknowledgements; unsent rows stay in the outbox."""
        if not self._thread.is_alive():
            return
        self._drain_timeout = drain_timeout
        self._stopping.set()
        self._wake.set()
        self._thread.join()
        if self._connected.is_set():
            info = self._client.publish(self.prefix + "status", self._status_payload("offline"), qos=1, retain=True,
                                        properties=self._status_props())
            info.wait_for_publish(timeout=2.0)
        self._client.disconnect()
        self._client.loop_stop()

    def notify(self) -> None:
        """New rows are in the outbox (called by the store writer after its commit)."""
        self._wake.set()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def alive(self) -> bool:
        """The worker and paho's network thread both run (a dead network thread never reconnects)."""
        network = getattr(self._client, "_thread", None)  # paho keeps its loop thread there
        return self._thread.is_alive() and (network is None or network.is_alive() or self._stopping.is_set())

    # -- paho callbacks (paho's network thread) ----------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                             client_id=f"trapd-{self._station_id}", protocol=mqtt.MQTTv5, manual_ack=True)
        if self._settings.username:
            client.username_pw_set(self._settings.username, self._settings.password or None)
        if self._settings.ca_file is not None:
            self._set_tls(client)
        will = Properties(PacketTypes.WILLMESSAGE)
        will.ContentType = self._wire.content_type("status")
        client.will_set(self.prefix + "status", self._status_payload("offline"), qos=1, retain=True, properties=will)
        # paho doubles the delay from min_delay up to max_delay. A random first delay per station is the
        # jitter: after a broker restart a park's stations come back spread out, not all at once.
        # paho annotates min_delay as int but only ever sleeps it: the fractional jitter is meant.
        client.reconnect_delay_set(min_delay=1 + random.random(),  # type: ignore[arg-type]
                                   max_delay=int(self._settings.reconnect_max_s))
        client.max_inflight_messages_set(self._settings.inflight)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        return client

    def _set_tls(self, client: mqtt.Client) -> None:
        files = [self._settings.ca_file, self._settings.cert_file, self._settings.key_file]
        ca, cert, key = (self._resolve(f) if f is not None else None for f in files)
        for path in (ca, cert, key):
            if path is not None and not path.is_file():
                raise UplinkError(f"mqtt: TLS file {path} not found; check mqtt.ca_file/cert_file/key_file")
        try:
            client.tls_set(ca_certs=str(ca), certfile=str(cert) if cert else None,
                           keyfile=str(key) if key else None, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        except (ssl.SSLError, ValueError) as exc:
            raise UplinkError(f"mqtt: cannot load TLS files ({exc}); check they are PEM and match") from exc

    def _on_connect_fail(self, client: mqtt.Client, userdata) -> None:
        """paho calls this inside its ``except OSError`` block, so the cause is the exception in flight."""
        exc = sys.exc_info()[1]
        reason = f"{type(exc).__name__}: {exc}" if exc else "unknown reason"
        if isinstance(exc, ssl.SSLError):
            reason = f"TLS handshake failed ({exc}); check the CA and this station's certificate"
        self._report_failure(reason)

    def _report_failure(self, reason: str) -> None:
        if reason != self._last_failure:  # one line per distinct cause, not one per retry
            log.error("MQTT connection to %s:%s failed: %s", self._settings.host, self._settings.port, reason)
            self._last_failure = reason
        self._stats.add("mqtt_connect_failures")

    def _on_connect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("MQTT broker %s:%s refused the connection: %s", self._settings.host, self._settings.port,
                      reason_code)
            self._stats.add("mqtt_refused")
            return
        log.info("MQTT connected to %s:%s", self._settings.host, self._settings.port)
        self._last_failure = ""
        client.publish(self.prefix + "status", self._status_payload("online"), qos=1, retain=True,
                       properties=self._status_props())
        if self._on_command is not None:
            client.subscribe(self.prefix + "cmd/+", qos=1)
        self._stats.add("mqtt_connects")
        self._connected.set()
        self._wake.set()
        self._on_link_change()

    def _on_disconnect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        if self._stopping.is_set():
            log.debug("MQTT disconnected at stop")
        elif self._connected.is_set():
            log.warning("MQTT disconnected: %s (messages stay in the outbox)", reason_code)
        elif not self._stopping.is_set():
            hint = ("; the broker probably rejected this station's certificate (check mqtt.cert_file and that "
                    "it is signed by the broker's CA)" if self._settings.ca_file is not None else "")
            self._report_failure(f"closed by the broker before it accepted the station ({reason_code}){hint}")
        self._connected.clear()
        self._on_link_change()

    def _on_message(self, client: mqtt.Client, userdata, message: mqtt.MQTTMessage) -> None:
        """A command is acknowledged (PUBACK) by the command worker once its reply is committed."""
        name = message.topic[len(self.prefix) + len("cmd/"):]
        mid, qos = message.mid, message.qos

        def ack() -> None:
            client.ack(mid, qos)

        if self._on_command is not None and message.topic.startswith(self.prefix + "cmd/") and name:
            props = message.properties
            self._on_command(name, message.payload, ack, response_topic=self._response_topic(props),
                             correlation_data=getattr(props, "CorrelationData", None) if props is not None else None)
        else:
            ack()

    def _response_topic(self, props: Properties | None) -> str | None:
        """An MQTT 5 response topic relative to this station's prefix; one outside it cannot be written (ACL)."""
        topic = getattr(props, "ResponseTopic", None) if props is not None else None
        if not topic:
            return None
        if not topic.startswith(self.prefix) or "+" in topic or "#" in topic or topic == self.prefix:
            log.warning("command response topic %r is not under %s; replying on cmd_result/", topic, self.prefix)
            return None
        return topic[len(self.prefix):]

    def publish_status(self) -> None:
        """Publish the retained ``online`` status now (the ``status`` command)."""
        if self._connected.is_set():
            self._client.publish(self.prefix + "status", self._status_payload("online"), qos=1, retain=True,
                                 properties=self._status_props())

    def _on_publish(self, client: mqtt.Client, userdata, mid: int, reason_code, properties) -> None:
        self._acked.append((mid, not reason_code.is_failure))
        self._wake.set()

    # -- the worker ---------------------------------------------------------------------------------------------
    def _run(self) -> None:
        outbox = OutboxReader(self._db_path)
        try:
            while not self._stopping.is_set():
                self._wake.wait()
                self._wake.clear()
                self._settle_acks(outbox)
                if self._connected.is_set() and not self._stopping.is_set():
                    self._publish_pending(outbox)
            self._drain(outbox)
        finally:
            outbox.close()

    def _drain(self, outbox: OutboxReader) -> None:
        """On stop: nothing new is published; acknowledgements of what is in flight are awaited a short
        while and marked. This thread alone publishes and settles, so nothing it sent can be missed here."""
        deadline = time.monotonic() + self._drain_timeout
        self._settle_acks(outbox)
        while self._inflight and self._connected.is_set() and time.monotonic() < deadline:
            self._wake.wait(0.05)
            self._wake.clear()
            self._settle_acks(outbox)

    def _settle_acks(self, outbox: OutboxReader) -> None:
        # Every mid this thread handed to paho is registered before this runs (same thread), so an
        # unknown mid is not an outbox message (e.g. the retained status) and is ignored.
        sent: list[str] = []
        while self._acked:
            mid, ok = self._acked.popleft()
            message_ids = self._inflight.pop(mid, None)
            if message_ids is None:
                continue
            if ok:
                sent.extend(message_ids)
            elif len(message_ids) > 1 and not self._single_only:
                log.error("broker refused a batch of %d messages (its ACL lacks %sbatch? see deploy/mosquitto/acl); "
                          "sending one message at a time from now on", len(message_ids), self.prefix)
                self._single_only = True
                self._stats.add("mqtt_batches_refused")
            else:
                log.error("broker refused message %s (check the ACL for this station)", ", ".join(message_ids))
                self._refused.update(message_ids)
                self._stats.add("mqtt_messages_refused", len(message_ids))
        outbox.mark_sent(sent)
        self.delivered += len(sent)
        self._stats.add("mqtt_delivered", len(sent))

    def _publish_pending(self, outbox: OutboxReader) -> None:
        room = self._settings.inflight - len(self._inflight)
        if room <= 0:
            return
        busy = {mid for ids in self._inflight.values() for mid in ids} | self._refused
        batch_max = 1 if self._single_only else self._settings.batch_max
        rows = outbox.pending(room + 2 * batch_max if batch_max > 1 else room, exclude=busy)
        for outgoing in publishes(rows, self._wire, room=room, batch_max=batch_max):
            props = Properties(PacketTypes.PUBLISH)
            props.ContentType = outgoing.content_type
            if outgoing.correlation_data is not None:
                props.CorrelationData = outgoing.correlation_data
            info = self._client.publish(self.prefix + outgoing.topic, outgoing.payload, qos=1, properties=props)
            if info.rc != mqtt.MQTT_ERR_SUCCESS and info.rc != mqtt.MQTT_ERR_NO_CONN:
                log.warning("publish of %s failed: %s", ", ".join(outgoing.message_ids), mqtt.error_string(info.rc))
                break
            self._inflight[info.mid] = outgoing.message_ids
            if len(outgoing.message_ids) > 1:
                self._stats.add("mqtt_batches")
            if info.rc == mqtt.MQTT_ERR_NO_CONN:
                break

    def _status_payload(self, state: StationState) -> bytes:
        message = StatusMessage(id=uuid7(), station_id=self._station_id, state=state, at=iso(utc_now()),
                                software=__version__, model=self._model)
        return self._wire.encode("status", encode_json(message))[0]

    def _status_props(self) -> Properties:
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = self._wire.content_type("status")
        return props
