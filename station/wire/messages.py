"""The wire contract's message models (version 1). JSON Schema is generated from these (`trapd schema`).

Every message carries ``id``, a UUIDv7: delivery is at-least-once, so the receiver drops duplicates by id,
and ids sort in creation order. Fields are only ever added in a minor version; a breaking change makes a
new ``schema`` string and a new topic root (``camtrap/v2``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"
StationState = Literal["online", "offline"]  # a station's retained status (``offline`` is its Last Will)


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelRef(WireModel):
    name: str
    version: str


class WireDetection(WireModel):
    observation_id: str = Field(description="UUIDv7 of the observation (Camtrap DP observationID).")
    species: str = Field(description="Species key from the catalogue, e.g. amur_tiger.")
    species_code: int = Field(ge=0, le=255, description="Stable one-byte species code (same as on LoRa).")
    scientific_name: str | None = Field(None, description="Latin name; null for blank/vehicle.")
    observation_type: Literal["animal", "human", "vehicle", "unknown"]
    confidence: float = Field(ge=0.0, le=1.0, description="Best frame's probability for this species.")
    count: int | None = Field(None, ge=0, description="Individuals counted: the most boxes of this species in one "
                                                      "frame (detector); null when unknown (classifier alone).")
    frames_seen: int = Field(ge=1, description="Frames of the sequence where the species passed its threshold.")
    best_media_id: str = Field(description="Media id of the frame to look at first; its thumbnail follows.")
    box: list[Annotated[float, Field(ge=0.0, le=1.0)]] | None = Field(None, min_length=4, max_length=4,
                                    description="Since 1.1: the best box on best_media_id, [x, y, width, height] "
                                                "normalised 0..1 from the top left (Camtrap DP bbox); null "
                                                "without a detector.")


class DetectionMessage(WireModel):
    """One closed sequence (Camtrap DP event) and what was seen in it. Topic ``<root>/<station>/detections``."""

    schema_: Literal["detection/1.0", "detection/1.1"] = Field("detection/1.1", alias="schema")
    id: str = Field(description="UUIDv7 message id; drop duplicates by it.")
    station_id: str
    deployment_id: str | None = None
    sequence_id: str = Field(description="UUIDv7 of the sequence (Camtrap DP eventID).")
    start: str = Field(description="RFC 3339 UTC time of the first frame.")
    end: str = Field(description="RFC 3339 UTC time of the last frame.")
    trigger: str = Field(description="What started it: pir, schedule, command, manual.")
    frames: int = Field(ge=0)
    empty: bool = Field(description="True when nothing passed its threshold (a blank sequence).")
    detections: list[WireDetection]
    model: ModelRef = Field(description="The model that decided first (the detector, when there is one).")
    models: list[ModelRef] | None = Field(None, description="Since 1.1: every model that decided, detector first "
                                                            "(e.g. detector, then the classifier of its boxes).")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AlertDetection(WireModel):
    species: str = Field(description="Species key from the catalogue (a person, a tiger, a leopard...).")
    species_code: int = Field(ge=0, le=255, description="Stable one-byte species code (same as on LoRa).")
    confidence: float = Field(ge=0.0, le=1.0, description="The frame's probability for this species.")
    count: int | None = Field(None, ge=0, description="Boxes of this species in the frame (detector); else null.")
    box: list[Annotated[float, Field(ge=0.0, le=1.0)]] | None = Field(None, min_length=4, max_length=4,
                                    description="The best box, [x, y, width, height] normalised from the top left.")


class AlertMessage(WireModel):
    """A provisional alert, sent as soon as one frame of a still-open sequence shows a person or a big cat (the
    species of priority 0), before the sequence closes. Topic ``<root>/<station>/alert``. The detection message
    of the same ``sequence_id`` later confirms it (the species is among its detections) or withdraws it."""

    schema_: Literal["alert/1.0"] = Field("alert/1.0", alias="schema")
    id: str = Field(description="UUIDv7 message id; drop duplicates by it.")
    station_id: str
    deployment_id: str | None = None
    sequence_id: str = Field(description="UUIDv7 of the sequence still open (its detection message follows).")
    start: str = Field(description="RFC 3339 UTC start of the sequence: the key the full record will share.")
    at: str = Field(description="RFC 3339 UTC time of the frame that raised it.")
    media_id: str = Field(description="The frame; its image is on the station (and in the later thumbnail).")
    detections: list[AlertDetection] = Field(min_length=1)
    models: list[ModelRef]

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StatusMessage(WireModel):
    """Retained on ``<root>/<station>/status``; the broker publishes the Last Will (``offline``) for us."""

    schema_: Literal["status/1.0"] = Field("status/1.0", alias="schema")
    id: str
    station_id: str
    state: StationState
    at: str
    software: str = Field(description="trapd version.")
    model: ModelRef | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TelemetryMessage(WireModel):
    """Health of the station, on ``<root>/<station>/telemetry`` (QoS 1), periodically and on request."""

    schema_: Literal["telemetry/1.0"] = Field("telemetry/1.0", alias="schema")
    id: str
    station_id: str
    at: str
    uptime_s: float = Field(ge=0)
    battery_mv: int | None = Field(None, description="From the companion board; null when unknown.")
    solar_mv: int | None = None
    temperature_c: float | None = None
    disk_free_mb: int = Field(ge=0)
    disk_total_mb: int = Field(ge=0)
    outbox_pending: int = Field(ge=0)
    queue_depths: dict[str, int] = Field(description="Triggers and frames waiting in the pipeline.")
    counters: dict[str, int] = Field(description="Pipeline counters since start (frames, drops, errors...).")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CommandRequest(WireModel):
    """Published by the central side on ``<root>/<station>/cmd/<name>``; ``request_id`` makes it idempotent."""

    request_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    args: dict[str, object] = Field(default_factory=dict)
    sent_at: str | None = Field(None, description="RFC 3339 UTC time the request was sent; without expires_at it "
                                                  "expires mqtt.command_max_age_s later.")
    expires_at: str | None = Field(None, description="RFC 3339 UTC time after which the station must not run it "
                                                     "(it answers error 'expired ...' instead).")


class CommandResult(WireModel):
    """The station's reply on ``<root>/<station>/cmd_result/<request_id>`` (QoS 1, also for errors)."""

    schema_: Literal["cmd_result/1.0"] = Field("cmd_result/1.0", alias="schema")
    id: str
    station_id: str
    request_id: str
    command: str
    ok: bool
    result: dict[str, object] = Field(default_factory=dict)
    error: str | None = None

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


WIRE_MODELS: dict[str, type[WireModel]] = {"detection": DetectionMessage, "status": StatusMessage,
                                           "telemetry": TelemetryMessage, "command": CommandRequest,
                                           "cmd_result": CommandResult, "alert": AlertMessage}


def encode_json(message: WireModel) -> bytes:
    """Compact UTF-8 JSON, keys in model order, no nulls dropped (receivers see every field)."""
    return message.model_dump_json(by_alias=True).encode("utf-8")
