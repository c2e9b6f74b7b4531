"""Turn one MQTT message into a typed record, or say why not. Pure: no I/O, so it can be fuzzed.

Station messages follow docs/wire.md. A receiver ignores fields it does not know and accepts any minor
version of a major version it knows (``detection/1.x``), so stations can be upgraded before the server.
The MQTT 5 content type says how the payload is encoded (JSON, or zstd with a numbered dictionary,
``station/wire/encoding.py``); an encoding or dictionary this server does not ship is refused with the
reason, so the message is dead-lettered, not guessed at. A ``batch`` message (a station's backlog after an
outage) holds many messages; ``decode_many`` opens it. LoRa uplinks arrive as ChirpStack v4 events
(``chirpstack.py``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from station.central.chirpstack import LoRaUplink, parse_uplink_event
from station.central.errors import BadMessage
from station.wire.encoding import WireFormatError, decode_payload, parse_content_type
from station.wire.ids import parse_iso
from station.wire.messages import (
    AlertDetection,
    AlertMessage,
    DetectionMessage,
    ModelRef,
    StatusMessage,
    TelemetryMessage,
    WireDetection,
)
from station.wire.station_id import is_station_id

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_THUMBNAIL_BYTES = 256_000
MAX_BATCH_MESSAGES = 1000
TOPIC_OF_SCHEMA = {"detection": "detections", "telemetry": "telemetry", "status": "status"}


@dataclasses.dataclass(frozen=True)
class Thumbnail:
    station_id: str
    media_id: str
    content_type: str
    data: bytes

    @property
    def captured_at(self) -> datetime:
        return uuid7_time(self.media_id)


StationMessage = DetectionMessage | AlertMessage | TelemetryMessage | StatusMessage
StationModel = type[DetectionMessage] | type[AlertMessage] | type[TelemetryMessage] | type[StatusMessage]
Record = StationMessage | Thumbnail | LoRaUplink


def uuid7_time(value: str) -> datetime:
    """The creation time a UUIDv7 carries in its first 48 bits (milliseconds since the epoch)."""
    millis = int(value.replace("-", "")[:12], 16)
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def decode(topic: str, payload: bytes, *, topic_root: str, content_type: str | None = None) -> Record:
    """The record in one message; BadMessage says why there is none."""
    if topic.startswith("application/"):
        return parse_uplink_event(topic, payload)
    root = topic_root.rstrip("/") + "/"
    if not topic.startswith(root):
        raise BadMessage(f"topic {topic!r} is not under {root!r} nor a ChirpStack uplink topic")
    parts = topic[len(root):].split("/")
    station_id = parts[0]
    if not is_station_id(station_id):
        raise BadMessage(f"station id {station_id!r} in the topic is not a valid station id")
    kind = parts[1:]
    if len(kind) == 2 and kind[0] == "media":
        return _thumbnail(station_id, kind[1], payload, content_type)
    models: dict[str, tuple[StationModel, str]] = {
        "detections": (DetectionMessage, "detection"), "telemetry": (TelemetryMessage, "telemetry"),
        "status": (StatusMessage, "status"), "alert": (AlertMessage, "alert")}
    if len(kind) == 1 and kind[0] in models:
        model, name = models[kind[0]]
        return _station_json(model, name, _unwrap(name, payload, content_type, batch=False), station_id)
    if kind == ["batch"]:
        raise BadMessage("batch: a batch holds many messages; open it with decode_many")
    raise BadMessage(f"topic {topic!r}: unknown message kind {'/'.join(kind)!r}")


def decode_many(topic: str, payload: bytes, *, topic_root: str,
                content_type: str | None = None) -> list[tuple[str, bytes, Record | BadMessage]]:
    """Every message in one MQTT message: ``(topic, payload, record or why not)``; one entry unless a batch.

    A batch's entries carry the topic and the JSON each message would have had alone. BadMessage is raised
    only when the batch as a whole cannot be read (then nothing in it is stored)."""
    root = topic_root.rstrip("/") + "/"
    parts = topic[len(root):].split("/") if topic.startswith(root) else []
    if parts[1:] != ["batch"] or not is_station_id(parts[0]):
        try:
            return [(topic, payload, decode(topic, payload, topic_root=topic_root, content_type=content_type))]
        except BadMessage as exc:
            return [(topic, payload, exc)]
    lines = _unwrap("batch", payload, content_type, batch=True).split(b"\n")
    if len(lines) > MAX_BATCH_MESSAGES:
        raise BadMessage(f"batch: {len(lines)} messages; at most {MAX_BATCH_MESSAGES} in one batch")
    return [_batch_entry(root + parts[0], parts[0], line) for line in lines]


def _batch_entry(prefix: str, station_id: str, line: bytes) -> tuple[str, bytes, Record | BadMessage]:
    try:
        schema = json.loads(line).get("schema", "")
    except (ValueError, UnicodeDecodeError, AttributeError, RecursionError):
        schema = ""
    name = str(schema).split("/")[0]
    if name not in TOPIC_OF_SCHEMA:
        return prefix + "/batch", line, BadMessage(f"batch: a message with schema {str(schema)[:40]!r} cannot be "
                                                   "batched (detection, telemetry or status)")
    models: dict[str, StationModel] = {"detection": DetectionMessage, "telemetry": TelemetryMessage,
                                       "status": StatusMessage}
    model = models[name]
    topic = f"{prefix}/{TOPIC_OF_SCHEMA[name]}"
    try:
        return topic, line, _station_json(model, name, line, station_id)
    except BadMessage as exc:
        return topic, line, exc


def _unwrap(name: str, payload: bytes, content_type: str | None, *, batch: bool) -> bytes:
    """The JSON inside a payload, checked against what its topic says it is."""
    try:
        parsed = parse_content_type(content_type)
        body = decode_payload(payload, content_type)
    except WireFormatError as exc:
        raise BadMessage(f"{name}: {exc.reason}") from None
    if parsed.batch != batch:
        raise BadMessage(f"{name}: content type {content_type!r} is {'a' if parsed.batch else 'not a'} batch but "
                         f"the topic says {'batch' if batch else 'one message'}")
    if parsed.kind is not None and parsed.kind != name:
        raise BadMessage(f"{name}: content type {content_type!r} is for {parsed.kind!r} messages")
    return body


def _station_json(model: StationModel, name: str, payload: bytes, station_id: str) -> StationMessage:
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadMessage(f"{name}: not JSON ({exc})") from None
    except RecursionError:  # nested deeper than the parser's stack: garbage or an attack, never a record
        raise BadMessage(f"{name}: JSON nested too deep") from None
    if not isinstance(data, dict):
        raise BadMessage(f"{name}: JSON object expected, got {type(data).__name__}")
    schema = str(data.get("schema", ""))
    if not schema.startswith(f"{name}/1."):
        raise BadMessage(f"{name}: schema {schema!r} is not {name}/1.x; upgrade the server for a new major version")
    data = _known_fields(model, {**data, "schema": f"{name}/1.0"})
    nested_models: dict[StationModel, type[BaseModel]] = {DetectionMessage: WireDetection,
                                                          AlertMessage: AlertDetection}
    nested = nested_models.get(model)
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
    sniffed = ("image/jpeg" if payload[:2] == b"\xff\xd8" else
               "image/webp" if payload[:4] == b"RIFF" and payload[8:12] == b"WEBP" else "")
    kind = content_type if content_type and content_type.startswith("image/") else sniffed
    if not kind:
        raise BadMessage("media: not an image (no image content type and no JPEG or WebP signature)")
    if not payload or len(payload) > MAX_THUMBNAIL_BYTES:
        raise BadMessage(f"media: {len(payload)} bytes; a thumbnail must be 1-{MAX_THUMBNAIL_BYTES} bytes")
    return Thumbnail(station_id, media_id, kind, payload)
