"""Publish a scenario through a broker at ``speedup`` times real time (0: as fast as the broker takes it).

Stations are spread over a few MQTT connections (a station always uses the same one, so its messages
keep their order); every publish is QoS 1 with the content-type property stations set. The run waits for
every PUBACK before it returns.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import zlib
from collections.abc import Callable, Iterable

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from station.central.scenario import Publication
from station.errors import UplinkError

MAX_QUEUED = 2000


@dataclasses.dataclass
class FleetRun:
    published: int = 0
    seconds: float = 0.0
    behind_s: float = 0.0  # the most the publisher fell behind the schedule

    @property
    def rate(self) -> float:
        return self.published / self.seconds if self.seconds else 0.0


class FleetPublisher:
    def __init__(self, host: str, port: int, *, connections: int = 4, inflight: int = 200) -> None:
        self.host, self.port = host, port
        self._acked = threading.Semaphore(0)
        self._clients = [self._connect(n, inflight) for n in range(max(1, connections))]

    def _connect(self, number: int, inflight: int) -> mqtt.Client:
        client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                             client_id=f"trapd-fleet-{number}-{time.monotonic_ns() % 1_000_000}",
                             protocol=mqtt.MQTTv5)
        client.max_inflight_messages_set(inflight)
        client.max_queued_messages_set(MAX_QUEUED)
        client.on_publish = lambda c, u, mid, rc, p: self._acked.release()
        try:
            client.connect(self.host, self.port, keepalive=60)
        except OSError as exc:
            raise UplinkError(f"fleet: cannot reach the broker at {self.host}:{self.port} ({exc})") from exc
        client.loop_start()
        return client

    def run(self, publications: Iterable[Publication], *, speedup: float, stop: threading.Event | None = None,
            progress: Callable[[int, float], None] | None = None) -> FleetRun:
        """Publish in schedule order; ``progress(count, scenario_seconds)`` every 1000 messages."""
        run, first = FleetRun(), None
        began = time.monotonic()
        for publication in publications:
            if stop is not None and stop.is_set():
                break
            first = first or publication.at
            scenario_s = (publication.at - first).total_seconds()
            if speedup > 0:
                wait = began + scenario_s / speedup - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                else:
                    run.behind_s = max(run.behind_s, -wait)
            self._publish(publication)
            run.published += 1
            if progress is not None and run.published % 1000 == 0:
                progress(run.published, scenario_s)
        deadline = time.monotonic() + 60 + run.published / 500
        for _ in range(run.published):
            if not self._acked.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise UplinkError("fleet: the broker did not acknowledge every publish in time")
        run.seconds = time.monotonic() - began
        return run

    def _publish(self, publication: Publication) -> None:
        parts = publication.topic.split("/")
        sender = parts[3] if parts[0] == "application" else parts[2]  # DevEUI, or the station id
        client = self._clients[zlib.crc32(sender.encode()) % len(self._clients)]
        props = Properties(PacketTypes.PUBLISH)
        if publication.content_type:
            props.ContentType = publication.content_type
        while True:
            info = client.publish(publication.topic, publication.payload, qos=1, retain=publication.retain,
                                  properties=props)
            if info.rc != mqtt.MQTT_ERR_QUEUE_SIZE:
                return
            time.sleep(0.002)  # paho's queue is full: let the window drain

    def close(self) -> None:
        for client in self._clients:
            client.disconnect()
            client.loop_stop()

    def __enter__(self) -> FleetPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
