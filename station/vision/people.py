"""Telling people and vehicles from animals when the camera-trap detector cannot (MegadetectorLite has one
class, "object").

A second detector that knows people and vehicles (configured as ``[model] people``; measured on real photos:
a COCO YOLOX-nano, see docs/accuracy.md) runs on the whole frame. Each of its human or vehicle boxes at or
above its threshold names one of the detector's boxes that cover most of it (``cover``: the share of the
hint's area inside the box; of several, the most confident), and that box takes the hint's
score when that is higher (the detector's own score may be below its threshold: both models saw something
there); a hint that no box covers is kept as a box of its
own, because on an anti-poaching camera a person must never come out blank. A box a vehicle hint named
stays a vehicle; a person hint inside it (a rider, a driver) is added as a box of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from station.types import Box
from station.vision.detector import BoxDetector
from station.vision.detector_card import DetectorCard

HINT_KINDS = ("vehicle", "human")  # applied in this order, so human overrides vehicle


@dataclasses.dataclass(frozen=True)
class PeopleSettings:
    thresholds: dict[str, float]  # species key (human, vehicle) -> least score of a hint
    cover: float = 0.5
    keep_uncovered: tuple[str, ...] = ("human", "vehicle")


def covered_share(hint: Box, box: Box) -> float:
    """Share of ``hint``'s area that lies inside ``box`` (normalised boxes, top-left origin)."""
    width = min(hint.x + hint.width, box.x + box.width) - max(hint.x, box.x)
    height = min(hint.y + hint.height, box.y + box.height) - max(hint.y, box.y)
    area = hint.width * hint.height
    return max(0.0, width) * max(0.0, height) / area if area > 0 else 0.0


def separate(boxes: Sequence[Box], hints: Sequence[Box], settings: PeopleSettings) -> list[Box]:
    """``boxes`` with the species of the hints that fall in them; uncovered person hints added as boxes."""
    result = list(boxes)
    for kind in HINT_KINDS:
        threshold = settings.thresholds.get(kind)
        if threshold is None:
            continue
        for hint in (h for h in hints if h.species == kind and h.score >= threshold):
            hits = [i for i, box in enumerate(result) if covered_share(hint, box) >= settings.cover]
            # a vehicle box stays a vehicle: the person on it (a rider, a driver) becomes a box of its own
            keep = ("human", "vehicle") if kind == "human" else ("human",)
            named = [i for i in hits if result[i].species not in keep]
            if named:  # one hint names one box: the detector's most confident of those that cover it
                i = max(named, key=lambda n: result[n].score)
                # the box takes the hint's score when higher: both models saw something there
                result[i] = dataclasses.replace(result[i], species=kind, score=max(result[i].score, hint.score))
            if not named and not any(result[i].species == kind for i in hits) and kind in settings.keep_uncovered:
                result.append(hint)
    return result

class SeparatingDetector:
    """The camera-trap detector with a people/vehicle detector beside it, behind the detector's own interface
    (``card``, ``input_size``, ``prepare``, ``detect``), so the frame pipeline needs no second path."""

    def __init__(self, detector: BoxDetector, people: BoxDetector, settings: PeopleSettings) -> None:
        self.detector, self.people, self.settings = detector, people, settings
        self._card = detector.card

    @classmethod
    def from_cards(cls, detector: BoxDetector, people: BoxDetector, *, cover: float = 0.5) -> SeparatingDetector:
        """Thresholds from the people card's human and vehicle species (what it was measured at)."""
        card = people.card
        thresholds = {key: card.threshold(key) for key in HINT_KINDS if key in card.species_by_key()}
        return cls(detector, people, PeopleSettings(thresholds=thresholds, cover=cover))

    @property
    def card(self) -> DetectorCard:
        return self._card

    @property
    def input_size(self) -> tuple[int, int]:
        return self.detector.input_size

    @property
    def models(self) -> list[str]:
        return [self.detector.card.label, self.people.card.label]

    def prepare(self, pixels: np.ndarray) -> np.ndarray:
        return self.detector.prepare(pixels)

    def detect(self, pixels: np.ndarray) -> list[Box]:
        hints = [box for box in self.people.detect(pixels) if box.species in HINT_KINDS]
        return separate(self.detector.detect(pixels), hints, self.settings)
