"""Turns a classified sequence into what the store keeps and what the uplinks will send."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
from collections.abc import Callable

from PIL import Image

from station.pipeline import thumbnail
from station.store.repo import OutboxMessage, observation_rows
from station.types import Detection, SequenceClosed
from station.vision.card import ModelCard
from station.vision.frame_pipeline import crop_image
from station.vision.species import Species
from station.vision.station_vision import Vision
from station.wire.ids import iso, uuid7
from station.wire.messages import DetectionMessage, ModelRef, WireDetection, encode_json

log = logging.getLogger(__name__)

BLANK_PRIORITY = 2


@dataclasses.dataclass(frozen=True)
class SequenceRecord:
    """Everything one closed sequence commits in a single transaction."""

    closed: SequenceClosed
    observations: list[dict]
    messages: list[OutboxMessage]
    model: str


class Composer:
    def __init__(self, *, station_id: str, deployment_id: str | None, card: ModelCard | None = None,
                 vision: Vision | None = None, thumbnail_max_bytes: int, thumbnail_width: int = 320,
                 thumbnail_format: thumbnail.ThumbnailFormat = "webp") -> None:
        """``vision`` (a ``station.vision.station_vision.Vision``) names the models and species; ``card`` alone
        is the classifier-only form kept for callers that have no vision object."""
        self._station_id = station_id
        self._deployment_id = deployment_id or None
        self._refs: list[tuple[str, str]]
        self._species: dict[str, Species]
        if vision is not None:
            self._refs, self._species = vision.model_refs, vision.species
        elif card is not None:
            self._refs, self._species = [(card.name, card.version)], dict(card.species_by_key())
        else:
            raise ValueError("a Composer names its models from a vision or a model card: give one")
        self._thumb_bytes = thumbnail_max_bytes
        self._thumb_width = thumbnail_width
        self._thumb_format = thumbnail_format

    def record(self, closed: SequenceClosed, detections: list[Detection],
               read_media: Callable[[str], bytes]) -> SequenceRecord:
        model = " + ".join(f"{name} {version}" for name, version in self._refs)
        observations = observation_rows(detections, event_id=closed.sequence_id,
                                        deployment_id=self._deployment_id, species=self._species,
                                        classified_by=model, new_id=uuid7)
        messages = [self._detection_message(closed, detections)]
        if detections and self._thumb_bytes > 0:
            thumb = self._thumbnail(read_media, detections[0], closed, messages[0].priority)
            if thumb is not None:
                messages.append(thumb)
        return SequenceRecord(closed=closed, observations=observations, messages=messages, model=model)

    def priority(self, detections: list[Detection]) -> int:
        levels = [self._species[d.species].priority for d in detections if d.species in self._species]
        return min(levels, default=BLANK_PRIORITY)

    def _detection_message(self, closed: SequenceClosed, detections: list[Detection]) -> OutboxMessage:
        message = DetectionMessage(
            id=uuid7(), station_id=self._station_id, deployment_id=self._deployment_id,
            sequence_id=closed.sequence_id, start=iso(closed.started_at), end=iso(closed.ended_at),
            trigger=closed.trigger_source, frames=len(closed.frames), empty=not detections,
            detections=[self._wire_detection(d) for d in detections],
            model=ModelRef(name=self._refs[0][0], version=self._refs[0][1]),
            models=[ModelRef(name=name, version=version) for name, version in self._refs])
        return OutboxMessage(message_id=message.id, kind="detection", priority=self.priority(detections),
                             topic="detections", payload=encode_json(message),
                             content_type="application/json", event_id=closed.sequence_id)

    def _wire_detection(self, detection: Detection) -> WireDetection:
        entry = self._species[detection.species]
        kind = entry.kind if entry.kind in ("animal", "human", "vehicle") else "unknown"
        return WireDetection(observation_id=detection.observation_id, species=entry.key,
                             species_code=entry.code, scientific_name=entry.latin or None,
                             observation_type=kind, confidence=detection.confidence, count=detection.count,
                             frames_seen=detection.frames_seen, best_media_id=detection.best_media_id,
                             box=list(detection.box) if detection.box is not None else None)

    def _thumbnail(self, read_media: Callable[[str], bytes], detection: Detection, closed: SequenceClosed,
                   priority: int) -> OutboxMessage | None:
        media_id = detection.best_media_id
        frame = next((f for f in closed.frames if f.media_id == media_id), None)
        if frame is None:
            return None
        try:
            data = make_thumbnail(read_media(frame.path), self._thumb_width, self._thumb_bytes, self._thumb_format,
                                  box=detection.box)
        except OSError as exc:
            log.warning("no thumbnail for %s: %s", media_id, exc)
            return None
        return OutboxMessage(message_id=uuid7(), kind="media", priority=priority,
                             topic=f"media/{media_id}", payload=data,
                             content_type=thumbnail.CONTENT_TYPES[self._thumb_format],
                             event_id=closed.sequence_id)


#: A box smaller than this share of the frame's area is shown cropped (with context) in the thumbnail: in a
#: 320-pixel-wide whole frame such an animal would be a few pixels across.
CROP_BELOW_AREA = 0.25
#: The crop around a small box: the box grown by this share of its size on each side.
THUMBNAIL_MARGIN = 0.6


def make_thumbnail(image: bytes | Image.Image, width: int, max_bytes: int, fmt: thumbnail.ThumbnailFormat = "jpeg",
                   box: tuple[float, float, float, float] | None = None) -> bytes:
    """A thumbnail no wider than ``width`` and no bigger than ``max_bytes`` (``station/pipeline/thumbnail.py``).

    With a ``box`` (normalised x, y, w, h) smaller than a quarter of the frame, the thumbnail is the box with
    a wide margin, so a ranger sees the animal and not a speck in a landscape."""
    if box is not None and box[2] * box[3] < CROP_BELOW_AREA:
        with Image.open(io.BytesIO(image)) if isinstance(image, bytes) else contextlib.nullcontext(image) as opened:
            image = crop_image(opened.convert("RGB"), list(box), THUMBNAIL_MARGIN)
    return thumbnail.make_thumbnail(image, width=width, max_bytes=max_bytes, fmt=fmt)
