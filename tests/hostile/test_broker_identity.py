"""One station's certificate cannot take over another station's session (issue 14, item 15).

A real Mosquitto runs deploy/mosquitto/mosquitto.conf and acl as shipped (only paths and ports changed), with
openssl-made certificates (tests/pki.py). The real station uplink connects as station-a; another station's
certificate then connects again and again with client id ``trapd-station-a``. With the shipped config the
broker makes that client id ``station-b`` (the certificate's CN), so station-a stays connected and its Last
Will never fires; the same attack on the config without ``use_username_as_clientid`` kicks it off each time.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from station.config.models import MqttSection
from station.devtools.mosquitto import PrivateBroker, free_port
from station.stats import Stats
from station.store.repo import StationStore
from station.uplink.mqtt import MqttUplink
from station.wire.encoding import decode_payload
from tests.conftest import ROOT, wait_until
from tests.pki import make_ca, make_cert

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None or shutil.which("mosquitto_passwd") is None,
                                reason="openssl and mosquitto_passwd (Debian: openssl, mosquitto) are needed")

DEPLOY = ROOT / "deploy" / "mosquitto"
CENTRAL_PASSWORD = "central-secret-1"
ATTACKS = 8


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pki")
    make_ca(folder, "park-ca")
    make_cert(folder, "park-ca", "broker", server=True)
    for station in ("station-a", "station-b"):
        make_cert(folder, "park-ca", station)
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(folder / "passwd"), "central", CENTRAL_PASSWORD],
                   check=True, capture_output=True)
    return folder


def shipped_config(pki: Path, central_port: int, *, tie_client_ids: bool = True) -> str:
    """deploy/mosquitto/mosquitto.conf with this machine's paths and free loopback ports."""
    text = (DEPLOY / "mosquitto.conf").read_text()
    for old, new in {"listener 8883\n": "listener {port} {host}\n",
                     "listener 1883 127.0.0.1\n": f"listener {central_port} 127.0.0.1\n",
                     "/etc/mosquitto/ca_certificates/camtrap-ca.crt": str(pki / "park-ca.crt"),
                     "/etc/mosquitto/certs/broker.crt": str(pki / "broker.crt"),
                     "/etc/mosquitto/certs/broker.key": str(pki / "broker.key"),
                     "/etc/mosquitto/passwd": str(pki / "passwd"), "/etc/mosquitto/acl": str(DEPLOY / "acl"),
                     "persistence true\n": "", "persistence_location /var/lib/mosquitto/\n": ""}.items():
        assert old in text, f"deploy/mosquitto/mosquitto.conf no longer has {old!r}: update this test"
        text = text.replace(old, new)
    if not tie_client_ids:
        text = text.replace("use_username_as_clientid true\n", "")
    return text


class Watcher:
    """The central server's view (user ``central`` on the loopback listener): every station status seen."""

    def __init__(self, port: int, client_id: str = "trapd-central-1") -> None:
        self.statuses: list[tuple[str, bytes]] = []
        self.disconnects = 0
        self.connected = threading.Event()
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv5)
        self.client.username_pw_set("central", CENTRAL_PASSWORD)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *args: setattr(self, "disconnects", self.disconnects + 1)
        self.client.on_message = self._on_message
        # the broker opens this second listener just after the one PrivateBroker waited for
        wait_until(lambda: self._connect(port), timeout=10, interval=0.1, message=f"the listener on {port}")
        self.client.loop_start()
        assert self.connected.wait(10), f"{client_id} could not connect as central"

    def _connect(self, port: int) -> bool:
        try:
            self.client.connect("127.0.0.1", port)
        except ConnectionRefusedError:
            return False
        return True

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if not reason_code.is_failure:
            client.subscribe("camtrap/v1/+/status", qos=1)
            self.connected.set()

    def _on_message(self, client, userdata, message: mqtt.MQTTMessage) -> None:
        content_type = getattr(message.properties, "ContentType", None)  # the station's wire encoding
        self.statuses.append((message.topic, decode_payload(message.payload, content_type)))

    def offline(self, station_id: str) -> int:
        return sum(1 for topic, payload in self.statuses
                   if topic == f"camtrap/v1/{station_id}/status" and b"offline" in payload)

    def round_trip(self) -> None:
        """A QoS 1 publish the broker acknowledges. Had the broker cut this session before, paho counted the
        disconnect (``on_disconnect`` runs before paho reconnects and sends the message again)."""
        info = self.client.publish("camtrap/v1/round-trip/cmd/ping", b"", qos=1)  # central may write cmd/
        wait_until(info.is_published, timeout=10, message="the broker's PUBACK")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def station_uplink(broker: PrivateBroker, pki: Path, tmp_path: Path) -> MqttUplink:
    StationStore(tmp_path / "station.db").close()  # the station's database, empty outbox
    settings = MqttSection(host=broker.host, port=broker.port, ca_file=pki / "park-ca.crt",
                           cert_file=pki / "station-a.crt", key_file=pki / "station-a.key", reconnect_max_s=1.0)
    return MqttUplink(settings=settings, station_id="station-a", db_path=tmp_path / "station.db", stats=Stats())


def station_b_client(broker: PrivateBroker, pki: Path, client_id: str) -> mqtt.Client:
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         protocol=mqtt.MQTTv5)
    client.tls_set(ca_certs=str(pki / "park-ca.crt"), certfile=str(pki / "station-b.crt"),
                   keyfile=str(pki / "station-b.key"))
    return client


def impostor_connects(broker: PrivateBroker, pki: Path, client_id: str) -> bool:
    """station-b's certificate connects with ``client_id``, holds the session until the broker has acknowledged
    a message on it (or cut it off), and leaves; True if accepted."""
    accepted, gone = threading.Event(), threading.Event()
    client = station_b_client(broker, pki, client_id)
    client.on_connect = lambda c, u, f, rc, p: accepted.set() if not rc.is_failure else None
    client.on_disconnect = lambda *args: gone.set()
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        if accepted.wait(10):
            info = client.publish("camtrap/v1/station-b/status", b'{"impostor": true}', qos=1)
            wait_until(lambda: info.is_published() or gone.is_set(), timeout=10,
                       message="the broker's answer on the impostor's session")
    finally:
        client.disconnect()
        client.loop_stop()
    return accepted.is_set()


def wait_for_a_marker(broker: PrivateBroker, pki: Path, watcher: Watcher) -> None:
    """station-b publishes a marker status; once the watcher has it, it has every status queued for it before.

    Mosquitto queues one subscriber's messages in order (here: one connection, one subscription, QoS 1). A Last
    Will set off by an attack is queued during that attack's CONNECT, before its CONNACK, so before this marker:
    if none is in ``watcher.statuses`` when the marker is, none came.
    """
    marker = f'{{"marker": "{uuid.uuid4().hex}"}}'.encode()
    client = station_b_client(broker, pki, "marker")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        info = client.publish("camtrap/v1/station-b/status", marker, qos=1)
        wait_until(info.is_published, timeout=10, message="the broker's PUBACK for the marker")
    finally:
        client.disconnect()
        client.loop_stop()
    wait_until(lambda: ("camtrap/v1/station-b/status", marker) in watcher.statuses, timeout=10,
               message="the marker at the watcher")


def two_ports() -> tuple[int, int]:
    """Free loopback ports for the station and the central listener (never the same one twice)."""
    station = free_port()
    while (central := free_port()) == station:
        pass
    return station, central


@contextmanager
def attacked(pki: Path, tmp_path: Path, *, tie_client_ids: bool) -> Iterator[tuple[MqttUplink, Watcher, int]]:
    """(station-a's running uplink, the watcher, impostor connections accepted) once every Last Will the attacks
    set off has reached the watcher; station-a stops on leaving (stopping publishes "offline" too: count before)."""
    station_port, central_port = two_ports()
    listener = shipped_config(pki, central_port, tie_client_ids=tie_client_ids)
    with PrivateBroker(port=station_port, workdir=tmp_path / "broker", listener=listener) as broker:
        watcher = Watcher(central_port)
        station = station_uplink(broker, pki, tmp_path)
        station.start()
        try:
            wait_until(lambda: station.connected, timeout=15, message="station-a connected")
            accepted = sum(impostor_connects(broker, pki, "trapd-station-a") for _ in range(ATTACKS))
            wait_for_a_marker(broker, pki, watcher)
            yield station, watcher, accepted
        finally:
            station.stop()
            watcher.close()


def test_another_stations_certificate_cannot_kick_a_station_off(pki, tmp_path):
    with attacked(pki, tmp_path, tie_client_ids=True) as (station, watcher, accepted):
        wills = watcher.offline("station-a")
    assert accepted == ATTACKS  # station-b may connect (as itself)...
    assert station._stats.get("mqtt_connects") == 1  # ...but station-a was never disconnected
    assert wills == 0  # and its Last Will never fired


def test_without_tied_client_ids_the_same_attack_kicks_the_station_off(pki, tmp_path):
    """The control: the attack is real, and ``use_username_as_clientid`` is what stops it."""
    with attacked(pki, tmp_path, tie_client_ids=False) as (station, watcher, accepted):
        wills = watcher.offline("station-a")
        wait_until(lambda: station._stats.get("mqtt_connects") > 1, timeout=15,
                   message="station-a back after being kicked off")
    assert accepted == ATTACKS
    assert station._stats.get("mqtt_connects") > 1 and wills >= 1


def test_central_workers_share_a_user_but_keep_their_own_sessions_and_stations_cannot_use_their_port(
        pki, tmp_path):
    station_port, central_port = two_ports()
    with PrivateBroker(port=station_port, workdir=tmp_path / "broker", listener=shipped_config(pki, central_port)):
        workers = [Watcher(central_port, f"trapd-central-{n}") for n in (1, 2)]
        try:
            for worker in workers:
                worker.round_trip()
            assert [w.disconnects for w in workers] == [0, 0]
            refused = threading.Event()
            intruder = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id="trapd-central-1",
                                   protocol=mqtt.MQTTv5)  # no password: what a station has
            intruder.on_connect = lambda c, u, f, rc, p: refused.set() if rc.is_failure else None
            intruder.connect("127.0.0.1", central_port)
            intruder.loop_start()
            assert refused.wait(10)
            intruder.loop_stop()
            for worker in workers:  # the broker refused the intruder before this: a kick would be counted now
                worker.round_trip()
            assert [w.disconnects for w in workers] == [0, 0]
        finally:
            for worker in workers:
                worker.close()
