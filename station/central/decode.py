"""Turn one MQTT message into a typed record, or say why not. Pure: no I/O, so it can be fuzzed.

Station messages follow docs/wire.md. A receiver ignores fields it does not know and accepts any minor
version of a major version it knows (``detection/1.x``), so stations can be upgraded before the server.
LoRa uplinks arrive as ChirpStack v4 events (``chirpstack.py``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ValidationError

from station.central.chirpstack import LoraUplink, parse_uplink_event
from station.central.errors import BadMessage
from station.ids import parse_iso
from station.uplink.messages import (AlertDetection, AlertMessage, DetectionMessage, ModelRef, StatusMessage,
                                     TelemetryMessage, WireDetection)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
STATION_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")
MAX_THUMBNAIL_BYTES = 256_000


@dataclasses.dataclass(frozen=True)
class Thumbnail:
    station_id: str
    media_id: str
    content_type: str
    data: bytes

    @property
    def captured_at(self) -> datetime:
        return uuid7_time(self.media_id)


Record = DetectionMessage | AlertMessage | TelemetryMessage | StatusMessage | Thumbnail | LoraUplink


def uuid7_time(value: str) -> datetime:
    """The creation time a UUIDv7 carries in its first 48 bits (milliseconds since the epoch)."""
    millis = int(value.replace("-", "")[:12], 16)
    return datetime.fromtimestamp(millis / 1000, tz=timezone.utc)


def decode(topic: str, payload: bytes, *, topic_root: str, content_type: str | None = None) -> Record:
    """The record in one message; BadMessage says why there is none."""
    if topic.startswith("application/"):
        return parse_uplink_event(topic, payload)
    root = topic_root.rstrip("/") + "/"
    if not topic.startswith(root):
        raise BadMessage(f"topic {topic!r} is not under {root!r} nor a ChirpStack uplink topic")
    parts = topic[len(root):].split("/")
    station_id = parts[0]
    if not STATION_ID_RE.match(station_id):
        raise BadMessage(f"station id {station_id!r} in the topic is not a valid station id")
    kind = parts[1:]
    if kind == ["detections"]:
        return _station_json(DetectionMessage, "detection", payload, station_id)
    if kind == ["telemetry"]:
        return _station_json(TelemetryMessage, "telemetry", payload, station_id)
    if kind == ["alert"]:
        return _station_json(AlertMessage, "alert", payload, station_id)
    if kind == ["status"]:
        return _station_json(StatusMessage, "status", payload, station_id)
    if len(kind) == 2 and kind[0] == "media":
        return _thumbnail(station_id, kind[1], payload, content_type)
    raise BadMessage(f"topic {topic!r}: unknown message kind {'/'.join(kind)!r}")


def _station_json(model: type[BaseModel], name: str, payload: bytes, station_id: str) -> Any:
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadMessage(f"{name}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BadMessage(f"{name}: JSON object expected, got {type(data).__name__}")
    schema = str(data.get("schema", ""))
    if not schema.startswith(f"{name}/1."):
        raise BadMessage(f"{name}: schema {schema!r} is not {name}/1.x; upgrade the server for a new major version")
    data = _known_fields(model, {**data, "schema": f"{name}/1.0"})
    nested = {DetectionMessage: WireDetection, AlertMessage: AlertDetection}.get(model)
    if nested is not None and isinstance(data.get("detections"), list):
        data["detections"] = [_known_fields(nested, d) if isinstance(d, dict) else d for d in data["detections"]]
        if isinstance(data.get("model"), dict):
            data["model"] = _known_fields(ModelRef, data["model"])
        if isinstance(data.get("models"), list):
            data["models"] = [_known_fields(ModelRef, m) if isinstance(m, dict) else m for m in data["models"]]
    try:
        record = model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadMessage(f"{name}: {where}: {first['msg']}") from None
    if record.station_id != station_id:
        raise BadMessage(f"{name}: station_id {record.station_id!r} does not match the topic's {station_id!r}")
    _check_times(record)
    return record


def _known_fields(model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
    """Drop fields a newer minor version added (receivers ignore what they do not know)."""
    names = {field.alias or name for name, field in model.model_fields.items()} | set(model.model_fields)
    return {key: value for key, value in data.items() if key in names}


def _check_times(record: Any) -> None:
    fields = ("start", "end") if isinstance(record, DetectionMessage) else (
        ("start", "at") if isinstance(record, AlertMessage) else ("at",))
    try:
        moments = [parse_iso(getattr(record, name)) for name in fields]
    except ValueError as exc:
        raise BadMessage(f"time not RFC 3339: {exc}") from None
    if any(m.tzinfo is None for m in moments):
        raise BadMessage("times must carry a zone (RFC 3339 UTC with Z)")
    if isinstance(record, DetectionMessage) and moments[1] < moments[0]:
        raise BadMessage(f"detection: end {record.end} is before start {record.start}")


def _thumbnail(station_id: str, media_id: str, payload: bytes, content_type: str | None) -> Thumbnail:
    if not UUID_RE.match(media_id):
        raise BadMessage(f"media: {media_id!r} is not a media id (UUIDv7)")
    kind = content_type if content_type and content_type.startswith("image/") else (
        "image/jpeg" if payload[:2] == b"\xff\xd8" else "")
    if not kind:
        raise BadMessage("media: not an image (no image content type and no JPEG signature)")
    if not payload or len(payload) > MAX_THUMBNAIL_BYTES:
        raise BadMessage(f"media: {len(payload)} bytes; a thumbnail must be 1-{MAX_THUMBNAIL_BYTES} bytes")
    return Thumbnail(station_id, media_id, kind, payload)
