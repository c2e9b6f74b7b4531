"""The wire at byte level: the MQTT PUBLISH packet of a detection, and the documented JSON example."""

from __future__ import annotations

import re
import socket
import struct
import threading
import time

import pytest

from station.config.models import MqttSection
from station.stats import Stats
from station.store.repo import OutboxMessage, StationStore
from station.uplink.mqtt import MqttUplink
from station.wire.encoding import decode_payload
from station.wire.messages import DetectionMessage, encode_json
from tests.conftest import ROOT


def read_packet(conn: socket.socket) -> tuple[int, bytes]:
    first = conn.recv(1)[0]
    length, shift = 0, 0
    while True:
        byte = conn.recv(1)[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    body = b""
    while len(body) < length:
        body += conn.recv(length - len(body))
    return first, body


class RecordingBroker:
    """Just enough MQTT 5 to accept one client and record its PUBLISH packets, acknowledging each (a detection
    after ``ack_delay_s``: a slow broker or link; ``detection`` is set when one arrives, before its PUBACK)."""

    def __init__(self, ack_delay_s: float = 0.0) -> None:
        self.ack_delay_s = ack_delay_s
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.publishes: list[tuple[int, bytes]] = []
        self.detection = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            kind, _ = read_packet(conn)
            assert kind == 0x10  # CONNECT
            conn.sendall(b"\x20\x03\x00\x00\x00")  # CONNACK, success, no properties
            while True:
                try:
                    first, body = read_packet(conn)
                except (IndexError, OSError):
                    return
                if first >> 4 == 3:
                    self.publishes.append((first, body))
                    topic_len = struct.unpack(">H", body[:2])[0]
                    if b"/detections" in body[:2 + topic_len]:
                        self.detection.set()
                        time.sleep(self.ack_delay_s)
                    conn.sendall(b"\x40\x02" + body[2 + topic_len:4 + topic_len])  # PUBACK with packet id


@pytest.mark.parametrize("encoding", ["zstd-dict", "json"])
def test_published_detection_packet_bytes(tmp_path, encoding):
    example = documented_example()
    store = StationStore(tmp_path / "station.db")
    store.enqueue(OutboxMessage(message_id=DetectionMessage.model_validate_json(example).id, kind="detection",
                                priority=0, topic="detections", payload=example, content_type="application/json"))
    store.close()
    broker = RecordingBroker()
    uplink = MqttUplink(settings=MqttSection(port=broker.port, encoding=encoding), station_id="llnp-0412",
                        db_path=tmp_path / "station.db", stats=Stats())
    uplink.start()
    try:
        assert broker.detection.wait(15)
    finally:
        uplink.stop(drain_timeout=0.5)
    first, body = next(p for p in broker.publishes if b"/detections" in p[1][:40])
    assert first == 0x32  # PUBLISH, QoS 1, not retained, not DUP
    topic = b"camtrap/v1/llnp-0412/detections"
    assert body[:2 + len(topic)] == struct.pack(">H", len(topic)) + topic
    rest = body[2 + len(topic) + 2:]  # after the packet identifier
    content_type = (b"application/vnd.trapd.detection+zstd;dict=1" if encoding == "zstd-dict"
                    else b"application/json")
    props = b"\x03" + struct.pack(">H", len(content_type)) + content_type
    assert rest[0] == len(props) and rest[1:1 + len(props)] == props
    payload = rest[1 + len(props):]
    if encoding == "json":
        assert payload == example
    else:  # byte for byte the hex in docs/wire.md, within the 200-byte target, and it opens to the JSON
        assert payload == documented_wire_hex()
        assert len(payload) <= 200
        assert decode_payload(payload, content_type.decode()) == example


def documented_wire_hex() -> bytes:
    text = (ROOT / "docs" / "wire.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- detection-wire-hex -->\n```text\n(.+?)\n```", text, re.S).group(1)
    return bytes.fromhex("".join(block.split()))


def documented_example() -> bytes:
    text = (ROOT / "docs" / "wire.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- detection-example -->\n```json\n(.+?)\n```", text, re.S).group(1)
    return block.encode("utf-8")


def test_documented_example_is_the_canonical_encoding():
    example = documented_example()
    assert encode_json(DetectionMessage.model_validate_json(example)) == example
    assert len(example) == 817  # the size stated in docs/wire.md is for this message
