"""TLS, per-station certificates and the ACL from deploy/mosquitto, against a private broker."""

from __future__ import annotations

import logging
import shutil

import pytest

from station.config.models import MqttSection
from station.devtools.collector import TopicCollector
from station.devtools.mosquitto import PrivateBroker
from station.stats import Stats
from station.store.outbox import OutboxReader
from station.store.repo import OutboxMessage, StationStore
from station.uplink.mqtt import MqttUplink
from tests.conftest import ROOT, wait_until
from tests.pki import make_pki

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")

TLS_LISTENER = """listener {{port}} {{host}}
cafile {pki}/park-ca.crt
certfile {pki}/broker.crt
keyfile {pki}/broker.key
require_certificate true
use_identity_as_username true
allow_anonymous false
acl_file {acl}
"""


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_broker(pki, tmp_path):
    listener = TLS_LISTENER.format(pki=pki, acl=ROOT / "deploy" / "mosquitto" / "acl")
    with PrivateBroker(workdir=tmp_path / "broker", listener=listener) as broker:
        yield broker


@pytest.fixture
def central(tls_broker, pki):
    collector = TopicCollector(tls_broker.host, tls_broker.port, "camtrap/v1/#", tls={
        "ca_certs": str(pki / "park-ca.crt"), "certfile": str(pki / "central.crt"),
        "keyfile": str(pki / "central.key")})
    yield collector
    collector.close()


def outbox_with_one_detection(db_path) -> str:
    store = StationStore(db_path)
    store.enqueue(OutboxMessage(message_id="0193b2c4-5f6e-7a01-8c3d-2b9e4f1a7c55", kind="detection", priority=0,
                                topic="detections", payload=b'{"test": true}', content_type="application/json"))
    store.close()
    return "0193b2c4-5f6e-7a01-8c3d-2b9e4f1a7c55"


def uplink(broker, pki, tmp_path, *, station_id: str, cert_dir=None) -> MqttUplink:
    cert_dir = cert_dir or pki
    settings = MqttSection(host=broker.host, port=broker.port, ca_file=pki / "park-ca.crt",
                           cert_file=cert_dir / "station-a.crt", key_file=cert_dir / "station-a.key",
                           reconnect_max_s=1.0)
    return MqttUplink(settings=settings, station_id=station_id, db_path=tmp_path / "station.db", stats=Stats())


def unsent(db_path) -> int:
    reader = OutboxReader(db_path)
    try:
        return reader.depth()
    finally:
        reader.close()


def test_station_publishes_over_tls_with_its_certificate(tls_broker, pki, central, tmp_path):
    message_id = outbox_with_one_detection(tmp_path / "station.db")
    station = uplink(tls_broker, pki, tmp_path, station_id="station-a")
    station.start()
    try:
        received = central.wait_for("/detections", 1, timeout=15)
        # seen by the central side is not yet marked sent: that waits for the PUBACK to reach the station
        wait_until(lambda: unsent(tmp_path / "station.db") == 0, timeout=15, message="the row marked sent")
    finally:
        station.stop()
    assert received == [("camtrap/v1/station-a/detections", b'{"test": true}')]
    assert unsent(tmp_path / "station.db") == 0, message_id


def test_station_cannot_publish_under_another_id(tls_broker, pki, central, tmp_path, caplog):
    outbox_with_one_detection(tmp_path / "station.db")
    impostor = uplink(tls_broker, pki, tmp_path, station_id="station-b")  # station-a's certificate
    with caplog.at_level(logging.ERROR, logger="station.uplink.mqtt"):
        impostor.start()
        try:
            wait_until(lambda: impostor._stats.get("mqtt_messages_refused") > 0, timeout=15,
                       message="the broker's refusal")
        finally:
            impostor.stop()
    assert impostor._stats.get("mqtt_messages_refused") == 1
    assert central.matching("/detections") == []
    assert unsent(tmp_path / "station.db") == 1  # refused is not delivered: the row stays for a human
    assert "broker refused message" in caplog.text


def test_certificate_from_another_ca_is_refused_with_a_clear_log_line(tls_broker, pki, tmp_path, caplog):
    outbox_with_one_detection(tmp_path / "station.db")
    rogue = uplink(tls_broker, pki, tmp_path, station_id="station-a", cert_dir=pki / "rogue")
    with caplog.at_level(logging.ERROR, logger="station.uplink.mqtt"):
        rogue.start()
        try:
            wait_until(lambda: "MQTT connection" in caplog.text, timeout=15, message="the connection error logged")
        finally:
            rogue.stop()
    assert not rogue.connected
    assert "MQTT connection to 127.0.0.1" in caplog.text
    assert "TLS handshake failed" in caplog.text or "rejected this station's certificate" in caplog.text
    assert unsent(tmp_path / "station.db") == 1
