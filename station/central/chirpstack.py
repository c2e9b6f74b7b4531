"""LoRa uplinks as a ChirpStack v4 MQTT integration publishes them, and the same events built for the simulator.

Topic ``application/<application id>/device/<DevEUI>/event/up``; the JSON body is the protobuf JSON mapping
of ChirpStack's ``integration.UplinkEvent``: ``deduplicationId``, ``time``, ``deviceInfo`` (tenant,
application, device profile, ``deviceName``, ``devEui``, ``tags``), ``devAddr``, ``adr``, ``dr``, ``fCnt``,
``fPort``, ``confirmed``, ``data`` (base64 FRMPayload), ``object`` (what the device profile's codec
returned; with deploy/lorawan/codec.js that is the ``data`` of ``decodeUplink``), ``rxInfo``, ``txInfo``.

The payload is decoded with the project's own codec (``station.wire.lora_codec``); ``object`` is only used when
a network server was set up to drop the raw bytes.

This module belongs to the central server (``trapd central``): it reads what ChirpStack received from the
stations. The station's own LoRa side (modem, duty-cycle budget, link policy) is ``station.lora``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

from station.central.errors import BadMessage
from station.wire.lora_codec import (
    UPLINK_PORT,
    DetectionFrame,
    LoRaCodecError,
    LoRaDetection,
    StatusFrame,
    Uplink,
    decode_uplink,
    encode_uplink,
)
from station.wire.lora_json import uplink_data
from station.wire.station_id import is_station_id


@dataclasses.dataclass(frozen=True)
class LoRaUplink:
    """One uplink from a station's LoRa radio, with what the network server knows about the device."""

    uplink_id: str
    dev_eui: str
    device_name: str | None
    station_tag: str | None
    f_cnt: int | None
    received_at: datetime
    payload: bytes
    frame: Uplink


def parse_uplink_event(topic: str, body: bytes) -> LoRaUplink:
    parts = topic.split("/")
    if len(parts) != 6 or parts[2] != "device" or parts[4:] != ["event", "up"]:
        raise BadMessage(f"topic {topic!r} is not application/<id>/device/<DevEUI>/event/up")
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadMessage(f"lora: ChirpStack event is not JSON ({exc})") from None
    except RecursionError:
        raise BadMessage("lora: ChirpStack event nested too deep") from None
    if not isinstance(event, dict) or not isinstance(event.get("deviceInfo"), dict):
        raise BadMessage("lora: ChirpStack event without deviceInfo")
    info = event["deviceInfo"]
    dev_eui = str(info.get("devEui", "")).lower()
    if dev_eui != parts[3].lower():
        raise BadMessage(f"lora: deviceInfo.devEui {dev_eui!r} does not match the topic's {parts[3]!r}")
    if event.get("fPort") != UPLINK_PORT:
        raise BadMessage(f"lora: fPort {event.get('fPort')!r} is not the trapd uplink port {UPLINK_PORT}")
    payload, frame = _frame(event)
    received_at = _time(event.get("time"))
    f_cnt = event.get("fCnt")
    uplink_id = str(event.get("deduplicationId") or f"{dev_eui}:{f_cnt}:{received_at.isoformat()}")
    tags = info.get("tags") if isinstance(info.get("tags"), dict) else {}
    _check_station_tag(tags.get("station_id"))
    return LoRaUplink(uplink_id=uplink_id, dev_eui=dev_eui, device_name=info.get("deviceName") or None,
                      station_tag=tags.get("station_id") or None, f_cnt=f_cnt if isinstance(f_cnt, int) else None,
                      received_at=received_at, payload=payload, frame=frame)


def _check_station_tag(tag: object) -> None:
    """The device's ``station_id`` tag names the station like an MQTT topic does: the same rule."""
    if tag not in (None, "") and not (isinstance(tag, str) and is_station_id(tag)):
        raise BadMessage(f"lora: device tag station_id {str(tag)[:80]!r} is not a valid station id; fix the tag "
                         "in ChirpStack")


def _frame(event: dict[str, Any]) -> tuple[bytes, Uplink]:
    if event.get("data"):
        try:
            payload = base64.b64decode(event["data"], validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise BadMessage("lora: data is not base64") from None
        try:
            return payload, decode_uplink(payload)
        except LoRaCodecError as exc:
            raise BadMessage(f"lora: {exc}") from None
    if isinstance(event.get("object"), dict):
        frame = frame_from_object(event["object"])
        return encode_uplink(frame), frame
    raise BadMessage("lora: uplink event has neither data nor a decoded object")


def frame_from_object(obj: dict[str, Any]) -> Uplink:
    """Rebuild a frame from codec.js's decoded object (when the network server dropped the bytes)."""
    try:
        if obj.get("type") == "detections":
            detections = tuple(LoRaDetection(int(d["species_code"]), int(d["confidence"]), int(d["count"] or 0),
                                             int(d["time"])) for d in obj["detections"])
            return DetectionFrame(int(obj["sequence"]), int(obj["base_time"]), detections)
        if obj.get("type") == "status":
            return StatusFrame(int(obj["sequence"]), int(obj["time"]), int(obj["battery_mv"]),
                               obj.get("storage_used_pct"), obj.get("temperature_c"), int(obj["queue_depth"]),
                               int(obj["reset_cause_code"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadMessage(f"lora: decoded object is incomplete ({exc})") from None
    raise BadMessage(f"lora: decoded object has unknown type {obj.get('type')!r}")


def _time(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def uplink_topic(application_id: str, dev_eui: str) -> str:
    return f"application/{application_id}/device/{dev_eui.lower()}/event/up"


def uplink_event(*, frame: Uplink, dev_eui: str, device_name: str, tags: dict[str, str], f_cnt: int,
                 received_at: datetime, deduplication_id: str, application_id: str,
                 region_frequency: int = 868_900_000, spreading_factor: int = 9) -> dict[str, Any]:
    """A ChirpStack v4 ``up`` event for ``frame`` as the stations' codec would have it decoded."""
    payload = encode_uplink(frame)
    decoded, _ = uplink_data(frame)
    return {
        "deduplicationId": deduplication_id,
        "time": received_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "deviceInfo": {"tenantId": "52f14cd4-c6f1-4fbd-8f87-4025e1d49242", "tenantName": "parks",
                       "applicationId": application_id, "applicationName": "camera-traps",
                       "deviceProfileId": "0f2b4e0a-7c1d-4d3e-9a51-6b1f6c0a1d22",
                       "deviceProfileName": "trapd-station", "deviceName": device_name,
                       "devEui": dev_eui.lower(), "tags": dict(tags)},
        "devAddr": dev_eui.lower()[-8:], "adr": True, "dr": 3, "fCnt": f_cnt, "fPort": UPLINK_PORT,
        "confirmed": False, "data": base64.b64encode(payload).decode("ascii"), "object": decoded,
        "rxInfo": [{"gatewayId": "0016c001f153a14c", "uplinkId": f_cnt % 65536, "rssi": -112, "snr": -4.5,
                    "context": "AAAAAA==", "metadata": {}}],
        "txInfo": {"frequency": region_frequency,
                   "modulation": {"lora": {"bandwidth": 125000, "spreadingFactor": spreading_factor,
                                           "codeRate": "CR_4_5"}}},
    }
