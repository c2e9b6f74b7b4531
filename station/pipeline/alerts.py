"""Provisional alerts: a person or a big cat seen in one frame is sent at once, before its sequence closes.

A detection message leaves only when its sequence closes — after the quiet period, or later while the animal
stays in front of the camera. For a person (anti-poaching) or a tiger or leopard near a village that is too
late, so the classify worker asks this policy about every frame of an open sequence: the first frame in which
such a species passes ``alerts.min_confidence`` makes one small ``alert`` message (priority 0, QoS 1, over
LoRa too while MQTT is down), and each further species of the same sequence makes one more. The detection
message of the same sequence later confirms the alert or, when the whole sequence says otherwise, withdraws
it (the central side does that). The alert carries the sequence's start, the key the full record and a LoRa
summary share, so the central side never counts the sighting twice.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from station.store.repo import OutboxMessage
from station.types import Frame, FrameResult
from station.wire.ids import iso, uuid7
from station.wire.messages import AlertDetection, AlertMessage, ModelRef, encode_json

ALERT_PRIORITY = 0


class AlertSection(BaseModel):
    """Provisional alerts sent before a sequence closes."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Send a provisional alert from the first frame that shows one of "
                                            "`species` (the detection message later confirms or withdraws it).")
    species: list[str] = Field(["human", "amur_tiger", "amur_leopard"], max_length=32,
                               description="Species keys that raise a provisional alert.")
    min_confidence: float = Field(0.6, ge=0.0, le=1.0,
                                  description="A frame raises an alert when its probability for the species "
                                              "(the box's, with a detector) is at least this.")


class ProvisionalAlerts:
    """Remembers which species of each open sequence were already alerted; builds the alert messages."""

    def __init__(self, settings: AlertSection, *, station) -> None:
        """``station``: the config's [station] section (its id, and the deployment now, which can change)."""
        self._settings = settings
        self._station = station
        self._alerted: dict[str, set[str]] = {}

    def check(self, frame: Frame, result: FrameResult, vision) -> OutboxMessage | None:
        """The alert this frame raises (None: nothing new, or alerts are off)."""
        if not self._settings.enabled or frame.sequence_start is None:
            return None
        seen = self._alerted.setdefault(frame.sequence_id, set())
        found = [d for d in self._candidates(result, vision) if d.species not in seen]
        if not found:
            return None
        seen.update(d.species for d in found)
        message = AlertMessage(id=uuid7(), station_id=self._station.id,
                               deployment_id=self._station.deployment_id or None,
                               sequence_id=frame.sequence_id, start=iso(frame.sequence_start),
                               at=iso(frame.captured_at), media_id=frame.media_id, detections=found,
                               models=[ModelRef(name=name, version=version) for name, version in vision.model_refs])
        return OutboxMessage(message_id=message.id, kind="alert", priority=ALERT_PRIORITY, topic="alert",
                             payload=encode_json(message), content_type="application/json",
                             event_id=frame.sequence_id)

    def forget(self, sequence_id: str) -> None:
        """The sequence closed: its detection message takes over."""
        self._alerted.pop(sequence_id, None)

    def _candidates(self, result: FrameResult, vision) -> list[AlertDetection]:
        species = vision.species
        wanted = set(self._settings.species)
        floor = self._settings.min_confidence
        if result.boxes:  # detector: boxes that counted, named by the classifier or the detector
            best: dict[str, AlertDetection] = {}
            for verdict in result.boxes:
                entry = species.get(verdict.species)
                if entry is None or verdict.species not in wanted or verdict.confidence < floor:
                    continue
                count = sum(1 for other in result.boxes if other.species == verdict.species)
                box = [verdict.box.x, verdict.box.y, verdict.box.width, verdict.box.height]
                if verdict.species not in best or verdict.confidence > best[verdict.species].confidence:
                    best[verdict.species] = AlertDetection(species=verdict.species, species_code=entry.code,
                                                           confidence=round(verdict.confidence, 4), count=count,
                                                           box=[min(max(v, 0.0), 1.0) for v in box])
            return list(best.values())
        top, score = result.top_species, result.top_score
        entry = species.get(top)
        if entry is None or top not in wanted or score < max(floor, _card_threshold(vision, top)):
            return []
        return [AlertDetection(species=top, species_code=entry.code, confidence=round(score, 4))]


def _card_threshold(vision, key: str) -> float:
    classifier = getattr(vision, "classifier", None)
    try:
        return classifier.card.threshold(key) if classifier is not None else 0.0
    except KeyError:
        return 1.0  # a species this classifier does not report cannot be confidently seen
