"""Ingest workers: MQTT shared subscriptions in, idempotent PostgreSQL rows out, alerts published.

Each worker joins the shared-subscription group ``$share/<group>/…``, so the broker splits the stations'
messages between however many workers run (on one machine or many). A message is acknowledged (PUBACK,
paho's manual ack) only after the transaction holding its rows has committed: a worker that dies loses
nothing, the broker sends the unacknowledged messages again when it reconnects with the same client id,
and the writes are idempotent, so every row exists exactly once.

Threads: paho's network thread only queues deliveries; one writer thread per worker decodes a batch,
writes it in one transaction (dead-lettering what cannot be stored), commits, acknowledges, and publishes
the alerts the batch raised.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from station.central.alert_publisher import AlertPublisher
from station.central.alerts import Alert
from station.central.config import CentralConfig
from station.central.db import connect, driver, ensure_telemetry_partitions, existing_telemetry_partitions, migrate
from station.central.decode import Record, decode_many
from station.central.errors import BadMessage, CentralError
from station.central.store import IngestWriter, dead_letter, record_alerts, telemetry_month
from station.errors import UplinkError

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

MAX_RETRIES = 5


@dataclasses.dataclass(frozen=True)
class Delivery:
    topic: str
    payload: bytes
    mid: int
    qos: int
    content_type: str | None
    received_at: datetime


def subscriptions(config: CentralConfig) -> list[str]:
    """The shared-subscription filters one worker subscribes to."""
    share = f"$share/{config.mqtt.share_group}/"
    root = config.mqtt.topic_root.rstrip("/")
    topics = [f"{root}/+/detections", f"{root}/+/alert", f"{root}/+/media/+", f"{root}/+/telemetry",
              f"{root}/+/status", f"{root}/+/batch"]
    if config.mqtt.chirpstack_topic:
        topics.append(config.mqtt.chirpstack_topic)
    return [share + topic for topic in topics]


class IngestWorker:
    """One ingest worker; start several (same config, different names) to share the load."""

    def __init__(self, config: CentralConfig, *, name: str = "1") -> None:
        self.config = config
        self.name = name
        self.stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self._deliveries: queue.Queue[Delivery] = queue.Queue()
        self._busy = threading.Event()
        self._stopping = threading.Event()
        self._subscribed = threading.Event()
        self._unsubscribed = threading.Event()
        self._months: set[tuple[int, int]] = set()
        self._conn: psycopg.Connection | None = None
        self._client = self._make_client()
        self._alerts = AlertPublisher(self._client, config.alerts.topic_root)
        self._thread = threading.Thread(target=self._run, name=f"ingest-{name}", daemon=True)

    @property
    def _db(self) -> psycopg.Connection:
        """The worker's database connection (there is one from ``start`` on)."""
        if self._conn is None:
            raise CentralError(f"ingest {self.name}: not started")
        return self._conn

    # -- life cycle -------------------------------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> IngestWorker:
        self._conn = conn = connect(self.config.database)
        try:
            migrate(conn, self.config.database)
            self._months = existing_telemetry_partitions(conn)
            self._connect_broker(timeout)
        except BaseException:
            conn.close()
            raise
        self._alerts.republish_unpublished(conn)  # before the writer thread: a connection serves one thread at a time
        self._thread.start()
        return self

    def _connect_broker(self, timeout: float) -> None:
        settings = self.config.mqtt
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = settings.session_expiry_s
        props.ReceiveMaximum = settings.receive_maximum
        try:
            self._client.connect(settings.host, settings.port, keepalive=30, clean_start=False, properties=props)
        except OSError as exc:
            raise UplinkError(f"ingest {self.name}: cannot reach the broker at {settings.host}:{settings.port} "
                              f"({exc}); start it or fix [mqtt] in central.toml") from exc
        self._client.loop_start()
        if not self._subscribed.wait(timeout):
            self._client.loop_stop()
            raise UplinkError(f"ingest {self.name}: no subscription acknowledged by {settings.host}:{settings.port} "
                              f"within {timeout} s")

    def stop(self, drain_timeout: float = 30.0) -> None:
        """Stop taking messages, finish and acknowledge what was received, then leave the group.

        The session is ended only when nothing is left in hand: brokers keep routing a share of the group's
        messages to a member's session while it is away (Mosquitto 2 does), so a retired worker must not
        leave one behind — nor drop one that still holds unacknowledged messages.
        """
        self._unsubscribed.clear()
        self._client.unsubscribe(subscriptions(self.config))
        self._unsubscribed.wait(5.0)
        deadline = time.monotonic() + drain_timeout
        quiet_since = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - quiet_since < 0.3:
            if not self.idle():  # messages the broker had already sent may still arrive after UNSUBACK
                quiet_since = time.monotonic()
            time.sleep(0.02)
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        props = Properties(PacketTypes.DISCONNECT)
        props.SessionExpiryInterval = 0 if self.idle() else self.config.mqtt.session_expiry_s
        self._client.disconnect(properties=props)
        self._client.loop_stop()
        if self._conn is not None:
            self._conn.close()

    def idle(self) -> bool:
        return self._deliveries.empty() and not self._busy.is_set()

    def snapshot(self) -> dict[str, int]:
        with self._stats_lock:
            return dict(self.stats)

    # -- MQTT (paho's thread: only queue) --------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                             client_id=f"{self.config.mqtt.client_id}-{self.name}", protocol=mqtt.MQTTv5,
                             manual_ack=True)
        if self.config.mqtt.username:
            client.username_pw_set(self.config.mqtt.username, self.config.mqtt.password)
        client.reconnect_delay_set(1, 30)
        client.on_connect = self._on_connect
        client.on_subscribe = lambda c, u, mid, codes, p: self._subscribed.set()
        client.on_unsubscribe = lambda c, u, mid, codes, p: self._unsubscribed.set()
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        return client

    def _on_connect(self, client: mqtt.Client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("ingest %s: broker refused the connection: %s", self.name, reason_code)
            return
        client.subscribe([(topic, SubscribeOptions(qos=1)) for topic in subscriptions(self.config)])

    def _on_message(self, client: mqtt.Client, userdata, message: mqtt.MQTTMessage) -> None:
        props = message.properties
        content_type = getattr(props, "ContentType", None) if props is not None else None
        self._deliveries.put(Delivery(message.topic, bytes(message.payload), message.mid, message.qos, content_type,
                                      datetime.now(UTC)))

    def _on_publish(self, client: mqtt.Client, userdata, mid: int, reason_code, properties) -> None:
        self._alerts.on_publish(mid)

    # -- the writer thread ------------------------------------------------------------------------------------
    def _run(self) -> None:
        writer = IngestWriter(self._db, self.config.alerts)
        while not self._stopping.is_set():
            batch = self._next_batch()
            if batch:
                try:
                    self._handle_safely(writer, batch)
                finally:
                    self._busy.clear()
            self._alerts.mark_published(self._conn)

    def _handle_safely(self, writer: IngestWriter, batch: list[Delivery]) -> None:
        """Never let the writer thread die, and never leave a batch unacknowledged and unstored."""
        problem = ""
        for attempt in range(1, 4):
            try:
                self._handle(writer, batch)
                return
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"
                log.exception("ingest %s: batch of %d failed (attempt %d)", self.name, len(batch), attempt)
                self._reconnect_db(writer)
        try:
            self._handle(writer, [], parked=[(d, f"ingest failed three times: {problem[:500]}") for d in batch])
        except Exception:
            log.exception("ingest %s: %d messages left unacknowledged; the broker sends them again when this "
                          "worker reconnects", self.name, len(batch))

    def _next_batch(self) -> list[Delivery]:
        try:
            first = self._deliveries.get(timeout=0.2)
        except queue.Empty:
            return []
        self._busy.set()
        batch = [first]
        while len(batch) < self.config.ingest.batch_size:
            try:
                batch.append(self._deliveries.get_nowait())
            except queue.Empty:
                break
        return batch

    def _handle(self, writer: IngestWriter, batch: list[Delivery],
                parked: list[tuple[Delivery, str]] | None = None) -> None:
        decoded, dead = self._decode(batch)
        dead += parked or []
        batch = batch + [delivery for delivery, _ in parked or []]
        months = {m for _, r in decoded if (m := telemetry_month(r)) is not None} - self._months
        if months:
            ensure_telemetry_partitions(self._db, months)
            self._months |= months
        outcome = self._write_with_retry(writer, decoded, dead)
        for delivery in batch:
            if delivery.qos > 0:
                self._client.ack(delivery.mid, delivery.qos)
        with self._stats_lock:
            self.stats.update(outcome.counts)
            self.stats["received"] += len(batch)
            self.stats["batches"] += 1
        self._alerts.publish(outcome.alerts)
        for alert_id, kind, payload in outcome.withdrawn:  # a provisional alert the full record contradicts
            self._alerts.publish_payload(kind, payload, alert_id)

    def _decode(self, batch: list[Delivery]) -> tuple[list[tuple[Delivery, Record]], list[tuple[Delivery, str]]]:
        decoded, dead = [], []
        for delivery in batch:
            try:
                entries = decode_many(delivery.topic, delivery.payload, topic_root=self.config.mqtt.topic_root,
                                      content_type=delivery.content_type)
            except BadMessage as exc:
                dead.append((delivery, exc.reason))
                continue
            for topic, payload, record in entries:  # a station's batch: each message on its own topic
                inner = (delivery if topic == delivery.topic else
                         dataclasses.replace(delivery, topic=topic, payload=payload))
                if isinstance(record, BadMessage):
                    dead.append((inner, record.reason))
                else:
                    decoded.append((inner, record))
        # one lock order for all workers (station, then arrival) makes deadlocks between batches rare
        decoded.sort(key=lambda pair: _station_of(pair[1]))
        return decoded, dead

    def _write_with_retry(self, writer: IngestWriter, decoded: list, dead: list) -> _Outcome:
        psycopg = driver()
        for attempt in range(1, MAX_RETRIES + 1):
            try:
                return self._write(writer, decoded, dead)
            except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure,
                    psycopg.errors.LockNotAvailable):
                log.info("ingest %s: batch met another worker's (attempt %d); retrying", self.name, attempt)
                time.sleep(0.05 * attempt)
            except psycopg.OperationalError as exc:
                log.warning("ingest %s: database connection lost (%s); reconnecting", self.name, exc)
                self._reconnect_db(writer)
            except Exception as exc:  # a record the database (or the writer) refuses: find it, one at a time
                log.warning("ingest %s: batch refused (%s); writing one message at a time", self.name, exc)
                return self._write_one_by_one(writer, decoded, dead)
        raise CentralError(f"ingest {self.name}: batch failed {MAX_RETRIES} times; see the log")

    def _write(self, writer: IngestWriter, decoded: list, dead: list) -> _Outcome:
        try:
            outcome = self._write_transaction(writer, decoded, dead)
        except BaseException:
            writer.rolled_back()
            raise
        writer.committed()
        return outcome

    def _write_transaction(self, writer: IngestWriter, decoded: list, dead: list) -> _Outcome:
        outcome = _Outcome()
        with self._db.transaction():
            for delivery, reason in dead:
                dead_letter(self._db, delivery.topic, delivery.payload, reason, self.name)
                outcome.counts["dead_letters"] += 1
            alerts: list[Alert] = []
            raised: list[Alert] = []
            for delivery, record in decoded:
                try:
                    written = writer.write(record, delivery.received_at)
                except BadMessage as exc:
                    dead_letter(self._db, delivery.topic, delivery.payload, exc.reason, self.name)
                    outcome.counts["dead_letters"] += 1
                    continue
                outcome.counts["stored" if written.stored else "duplicates"] += 1
                alerts += written.alerts
                raised += written.raised
                outcome.withdrawn += written.withdrawn
            outcome.alerts = raised + record_alerts(self._db, alerts)
        outcome.counts["alerts"] += len(outcome.alerts)
        return outcome

    def _write_one_by_one(self, writer: IngestWriter, decoded: list, dead: list) -> _Outcome:
        psycopg = driver()
        total = _Outcome()
        for delivery, reason in dead:
            total.merge(self._write(writer, [], [(delivery, reason)]))
        for delivery, record in decoded:
            try:
                total.merge(self._write(writer, [(delivery, record)], []))
            except Exception as exc:
                if self._db.closed or isinstance(exc, psycopg.OperationalError):
                    raise
                reason = f"refused by the store: {type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"
                total.merge(self._write(writer, [], [(delivery, reason)]))
        return total

    def _reconnect_db(self, writer: IngestWriter) -> None:
        while not self._stopping.is_set():
            try:
                if self._conn is not None and not self._conn.closed:
                    self._conn.close()
                self._conn = writer.conn = connect(self.config.database)
                return
            except CentralError as exc:
                log.warning("ingest %s: %s; retrying in 2 s", self.name, exc)
                self._stopping.wait(2.0)


@dataclasses.dataclass
class _Outcome:
    counts: Counter = dataclasses.field(default_factory=Counter)
    alerts: list[Alert] = dataclasses.field(default_factory=list)
    withdrawn: list[tuple[str, str, dict]] = dataclasses.field(default_factory=list)

    def merge(self, other: _Outcome) -> None:
        self.counts.update(other.counts)
        self.alerts += other.alerts
        self.withdrawn += other.withdrawn


def _station_of(record: Record) -> str:
    return getattr(record, "station_id", None) or getattr(record, "station_tag", None) or ""
