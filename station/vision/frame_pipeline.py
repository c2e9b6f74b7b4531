"""The per-frame decision, shared by the station, SD-card import and ``trapd model eval``.

Detector → boxes; a box counts when it passes its class's threshold, is not too small and its centre is
not in a mask; each counted box of an animal (or an unknown object) is cropped with a margin from the
highest-resolution picture at hand and given to the classifier, if one is configured, which may name the
species. A box the classifier cannot name stays what the detector said (``unknown_animal``: Camtrap DP
observationType unknown, no scientific name) — never blank. A frame with no counted box is blank.

    pipeline = FramePipeline(Detector.from_card(path), classifier, DetectionSection())
    verdict = pipeline.analyse_image(rgb)          # rgb: a whole photo, uint8 H x W x 3
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
from PIL import Image

from station.types import Box, BoxVerdict
from station.vision.classifier import Classifier
from station.vision.detector import BoxDetector
from station.vision.settings import DetectionSection
from station.vision.species import catalogue

#: Species kinds a classifier may rename; people and vehicles stay what the detector said.
CLASSIFIABLE_KINDS = ("animal", "unknown")

CropSource = np.ndarray | Callable[[], "np.ndarray | None"] | None


@dataclasses.dataclass(frozen=True)
class FrameVerdict:
    boxes: tuple[BoxVerdict, ...]

    @property
    def blank(self) -> bool:
        return not self.boxes

    def species_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for verdict in self.boxes:
            counts[verdict.species] = counts.get(verdict.species, 0) + 1
        return counts

    def best_per_species(self) -> dict[str, BoxVerdict]:
        best: dict[str, BoxVerdict] = {}
        for verdict in self.boxes:
            if verdict.species not in best or verdict.confidence > best[verdict.species].confidence:
                best[verdict.species] = verdict
        return best


class FramePipeline:
    def __init__(self, detector: BoxDetector, classifier: Classifier | None = None,
                 settings: DetectionSection | None = None) -> None:
        self.detector, self.classifier = detector, classifier
        self.settings = settings or DetectionSection()

    @property
    def input_size(self) -> tuple[int, int]:
        return self.detector.input_size

    @property
    def models(self) -> list[str]:
        """Names and versions of the models deciding, detector first."""
        names = [self.detector.card.label]
        if self.classifier is not None:
            names.append(f"{self.classifier.card.name} {self.classifier.card.version}")
        return names

    def prepare(self, pixels: np.ndarray) -> np.ndarray:
        return self.detector.prepare(pixels)

    def threshold(self, species: str) -> float:
        found = self.settings.thresholds.get(species)
        if found is not None:
            return found
        if self.settings.threshold is not None:
            return self.settings.threshold
        return self.detector.card.threshold(species)

    def counts(self, box: Box) -> bool:
        """Whether a box passes its threshold, the minimum area and the masks."""
        if box.score < self.threshold(box.species) or box.area < self.settings.min_box_area:
            return False
        cx, cy = box.x + box.width / 2, box.y + box.height / 2
        return not any(x <= cx <= x + w and y <= cy <= y + h for x, y, w, h in self.settings.masks)

    def analyse(self, pixels: np.ndarray, crop_source: CropSource = None) -> FrameVerdict:
        """One frame: ``pixels`` at any size (the detector's input size is cheapest); crops for the classifier
        come from ``crop_source`` (an array, or a function that loads one only when needed; None: ``pixels``)."""
        boxes = [box for box in self.detector.detect(pixels) if self.counts(box)]
        classifier = self.classifier
        if not boxes or classifier is None:
            return FrameVerdict(tuple(BoxVerdict(box, box.species, box.score) for box in boxes))
        kinds = catalogue()
        source = _load(crop_source, pixels)
        verdicts = []
        for box in boxes:
            entry = kinds.get(box.species)
            if entry is None or entry.kind not in CLASSIFIABLE_KINDS:
                verdicts.append(BoxVerdict(box, box.species, box.score))
            else:
                verdicts.append(_classify(classifier, box, crop(source, box, self.settings.crop_margin)))
        return FrameVerdict(tuple(verdicts))

    def analyse_image(self, rgb: np.ndarray) -> FrameVerdict:
        """A whole photo (replay, eval): the detector sees it stretched, the classifier its own crops."""
        return self.analyse(rgb, crop_source=rgb)



def _load(crop_source: CropSource, pixels: np.ndarray) -> np.ndarray:
    if crop_source is None:
        return pixels
    if callable(crop_source):
        loaded = crop_source()
        return pixels if loaded is None else loaded
    return crop_source


def crop(pixels: np.ndarray, box: Box, margin: float) -> np.ndarray:
    """The box grown by ``margin`` of its size on each side, clipped to the picture, at least 2x2 pixels."""
    height, width = pixels.shape[:2]
    x0 = max(0, int((box.x - box.width * margin) * width))
    y0 = max(0, int((box.y - box.height * margin) * height))
    x1 = min(width, int(np.ceil((box.x + box.width * (1 + margin)) * width)))
    y1 = min(height, int(np.ceil((box.y + box.height * (1 + margin)) * height)))
    return pixels[y0: max(y1, y0 + 2), x0: max(x1, x0 + 2)]


def crop_image(image: Image.Image, box: list[float], margin: float) -> Image.Image:
    """``crop`` for a Pillow image and a ``[x, y, width, height]`` box (thumbnails)."""
    x, y, w, h = box
    left, top = max(0.0, x - w * margin), max(0.0, y - h * margin)
    right, bottom = min(1.0, x + w * (1 + margin)), min(1.0, y + h * (1 + margin))
    return image.crop((int(left * image.width), int(top * image.height),
                       max(int(right * image.width), int(left * image.width) + 2),
                       max(int(bottom * image.height), int(top * image.height) + 2)))


def _classify(classifier: Classifier, box: Box, pixels: np.ndarray) -> BoxVerdict:
    """The classifier's name for a box's crop, or the detector's when the classifier is not sure."""
    scores = classifier.classify(pixels)
    top = max(scores, key=scores.__getitem__)
    if top == classifier.card.empty_species or scores[top] < classifier.card.threshold(top):
        return BoxVerdict(box, box.species, box.score)
    return BoxVerdict(box, top, round(float(scores[top]), 4), classified=True)
