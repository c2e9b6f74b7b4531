"""Decoding what arrives at the central server: station JSON (lenient within a major version), thumbnails,
ChirpStack v4 uplink events decoded with the project's codec. Pure: no broker, no database."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from station.central.chirpstack import LoRaUplink, uplink_event, uplink_topic
from station.central.decode import Thumbnail, decode, uuid7_time
from station.central.errors import BadMessage
from station.wire.lora_codec import DetectionFrame, LoRaDetection, StatusFrame
from station.wire.messages import DetectionMessage

ROOT = "camtrap/v1"
EXAMPLE = {"schema": "detection/1.0", "id": "0193b2c4-5f6e-7a01-8c3d-2b9e4f1a7c55", "station_id": "llnp-0412",
           "deployment_id": "llnp-0412-2026-autumn", "sequence_id": "0193b2c4-5a10-7b22-9d4e-61f0a2b3c4d5",
           "start": "2026-11-28T04:12:09.481Z", "end": "2026-11-28T04:12:11.733Z", "trigger": "pir", "frames": 6,
           "empty": False, "detections": [{"observation_id": "0193b2c4-5f6d-7c90-a1b2-c3d4e5f60718",
                                           "species": "amur_leopard", "species_code": 3,
                                           "scientific_name": "Panthera pardus orientalis",
                                           "observation_type": "animal", "confidence": 0.9412, "count": None,
                                           "frames_seen": 5, "best_media_id": "0193b2c4-5b77-7e01-8f00-112233445566"}],
           "model": {"name": "trapd-pipeline", "version": "1.0.0"}}
AT = datetime(2026, 11, 28, 4, 12, 9, tzinfo=UTC)


def test_the_documented_detection_example_decodes():
    record = decode(f"{ROOT}/llnp-0412/detections", json.dumps(EXAMPLE).encode(), topic_root=ROOT)
    assert isinstance(record, DetectionMessage) and record.detections[0].species == "amur_leopard"


def test_a_newer_minor_version_with_unknown_fields_is_accepted():
    newer = {**EXAMPLE, "schema": "detection/1.3", "battery_mv": 12000,
             "detections": [{**EXAMPLE["detections"][0], "bbox": [0.1, 0.2, 0.3, 0.4]}]}
    record = decode(f"{ROOT}/llnp-0412/detections", json.dumps(newer).encode(), topic_root=ROOT)
    assert record.id == EXAMPLE["id"]


def test_a_detection_1_1_message_with_box_count_and_models_decodes():
    """What a station with a detector sends: the best box, a count, and every model that decided."""
    v11 = {**EXAMPLE, "schema": "detection/1.1",
           "detections": [{**EXAMPLE["detections"][0], "count": 2, "box": [0.1, 0.2, 0.3, 0.4]}],
           "model": {"name": "megadetector-lite", "version": "1"},
           "models": [{"name": "megadetector-lite", "version": "1"}, {"name": "trapd-amur", "version": "2"}]}
    record = decode(f"{ROOT}/llnp-0412/detections", json.dumps(v11).encode(), topic_root=ROOT)
    assert record.detections[0].count == 2 and record.detections[0].box == [0.1, 0.2, 0.3, 0.4]
    assert [m.name for m in record.models] == ["megadetector-lite", "trapd-amur"]
    bad_box = {**v11, "detections": [{**v11["detections"][0], "box": [0.1, 0.2]}]}
    with pytest.raises(BadMessage, match="box"):
        decode(f"{ROOT}/llnp-0412/detections", json.dumps(bad_box).encode(), topic_root=ROOT)


@pytest.mark.parametrize("topic,payload,reason", [
    (f"{ROOT}/llnp-0412/detections", b"{nope", "detection: not JSON"),
    (f"{ROOT}/llnp-0412/detections", json.dumps({**EXAMPLE, "schema": "detection/2.0"}).encode(),
     "is not detection/1.x"),
    (f"{ROOT}/tlnp-0001/detections", json.dumps(EXAMPLE).encode(), "does not match the topic's 'tlnp-0001'"),
    (f"{ROOT}/llnp-0412/detections", json.dumps({**EXAMPLE, "end": "2026-11-28T04:00:00Z"}).encode(),
     "is before start"),
    (f"{ROOT}/llnp-0412/detections", json.dumps({**EXAMPLE, "frames": -1}).encode(), "frames"),
    (f"{ROOT}/llnp-0412/media/not-an-id", b"\xff\xd8", "is not a media id"),
    (f"{ROOT}/llnp-0412/media/0193b2c4-5b77-7e01-8f00-112233445566", b"GIF89a", "not an image"),
    (f"{ROOT}/Bad Station/detections", b"{}", "not a valid station id"),
    (f"{ROOT}/llnp-0412/weather", b"{}", "unknown message kind"),
    ("other/root/x", b"{}", "is not under"),
])
def test_bad_messages_say_why(topic, payload, reason):
    with pytest.raises(BadMessage) as caught:
        decode(topic, payload, topic_root=ROOT)
    assert reason in caught.value.reason


def test_a_thumbnail_carries_its_capture_time_in_its_id():
    record = decode(f"{ROOT}/llnp-0412/media/0193b2c4-5b77-7e01-8f00-112233445566", b"\xff\xd8\xff\xe0jpeg",
                    topic_root=ROOT, content_type="image/jpeg")
    assert isinstance(record, Thumbnail)
    assert record.captured_at == uuid7_time("0193b2c4-5b77-7e01-8f00-112233445566")
    assert record.captured_at.year == 2024


def _event(frame, **changes) -> tuple[str, bytes]:
    event = uplink_event(frame=frame, dev_eui="70B3D57ED0000001", device_name="llnp-0001",
                         tags={"station_id": "llnp-0001"}, f_cnt=9, received_at=AT, deduplication_id="dedup-1",
                         application_id="app")
    event.update(changes)
    return uplink_topic("app", "70B3D57ED0000001"), json.dumps(event).encode()


DETECTIONS = DetectionFrame(258, 1700000000, (LoRaDetection(2, 87, 1, 1700000012), LoRaDetection(1, 81, 2, 1700000300)))


def test_a_chirpstack_uplink_is_decoded_with_the_project_codec():
    topic, body = _event(DETECTIONS)
    assert topic == "application/app/device/70b3d57ed0000001/event/up"
    uplink = decode(topic, body, topic_root=ROOT)
    assert isinstance(uplink, LoRaUplink)
    assert (uplink.station_tag, uplink.dev_eui, uplink.f_cnt, uplink.uplink_id) == (
        "llnp-0001", "70b3d57ed0000001", 9, "dedup-1")
    assert uplink.frame == DETECTIONS
    event = json.loads(body)  # the object is what deploy/lorawan/codec.js gives (checked against Node elsewhere)
    assert event["object"]["detections"][0] == {"species": "amur_tiger", "species_code": 2, "confidence": 87,
                                                "count": 1, "offset_s": 12, "time": 1700000012}


def test_a_network_server_that_drops_the_bytes_still_delivers_through_the_decoded_object():
    topic, body = _event(DETECTIONS, data=None)
    assert decode(topic, body, topic_root=ROOT).frame == DETECTIONS
    status = StatusFrame(4, 1700000000, 3650, None, -12, 17, 2)
    topic, body = _event(status, data=None)
    assert decode(topic, body, topic_root=ROOT).frame == status


@pytest.mark.parametrize("changes,reason", [
    ({"fPort": 20}, "not the trapd uplink port 10"),
    ({"data": base64.b64encode(b"\x11\x01\x02\x65\x53\xf1\x00\x02\xae\x20").decode()}, "truncated detection"),
    ({"data": base64.b64encode(b"\x31\x00").decode()}, "unsupported version 3"),
    ({"data": "***", "object": None}, "not base64"),
    ({"data": None, "object": None}, "neither data nor a decoded object"),
    ({"deviceInfo": {"devEui": "0000000000000002"}}, "does not match the topic"),
    # the station a device's ChirpStack tag names follows the topic's rule: no markup, no LIKE wildcards, no ints
    ({"deviceInfo": {"devEui": "70b3d57ed0000001", "tags": {"station_id": "<b>llnp%1</b>"}}},
     "is not a valid station id"),
    ({"deviceInfo": {"devEui": "70b3d57ed0000001", "tags": {"station_id": 7}}}, "is not a valid station id"),
])
def test_bad_lora_uplinks_say_why(changes, reason):
    topic, body = _event(DETECTIONS, **changes)
    with pytest.raises(BadMessage) as caught:
        decode(topic, body, topic_root=ROOT)
    assert reason in caught.value.reason


def test_json_nested_deeper_than_the_parser_is_a_bad_message_on_every_topic():
    deep = b'{"schema": "detection/1.0", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for topic in ("camtrap/v1/llnp-0001/detections", "camtrap/v1/llnp-0001/alert",
                  uplink_topic("app", "70B3D57ED0000001")):
        with pytest.raises(BadMessage, match="nested too deep"):
            decode(topic, deep, topic_root=ROOT)
