"""What the station (and SD-card import, and evaluation) run on each frame, chosen by the config.

Two paths with one interface:

- ``DetectorVision``: detector first, then the classifier on each box's crop (``FramePipeline``); a
  sequence is blank only when no frame has a box, and ``count`` is the most boxes of a species in one frame;
- ``ClassifierVision``: the classifier on whole frames (configs without a detector); it cannot count.

``load_vision(config)`` builds the one the config asks for, and refuses a model whose card says
``field_model = false`` on a real camera unless ``model.allow_non_field = true``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from station.errors import ConfigError
from station.types import Detection, FrameResult
from station.vision.aggregate import aggregate, aggregate_boxes, top_species
from station.vision.classifier import Classifier
from station.vision.detector import BoxDetector, Detector
from station.vision.frame_pipeline import CropSource, FramePipeline
from station.vision.people import SeparatingDetector
from station.vision.settings import DetectionSection
from station.vision.species import Species, catalogue

REAL_CAMERAS = ("picamera2",)


class ClassifierVision:
    """The classifier alone on whole frames."""

    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier
        self.detector: BoxDetector | None = None

    @property
    def input_size(self) -> tuple[int, int]:
        return self.classifier.input_size

    def prepare(self, pixels: np.ndarray) -> np.ndarray:
        return self.classifier.prepare(pixels)

    @property
    def model_refs(self) -> list[tuple[str, str]]:
        """(name, version) of each model deciding, the first one foremost."""
        return [(self.classifier.card.name, self.classifier.card.version)]

    @property
    def species(self) -> dict[str, Species]:
        return {**catalogue(), **self.classifier.card.species_by_key()}

    def non_field_models(self) -> list[str]:
        card = self.classifier.card
        return [] if card.field_model else [f"{card.name} {card.version}"]

    def frame_result(self, media_id: str, sequence_id: str, pixels: np.ndarray,
                     crop_source: CropSource = None) -> FrameResult:
        scores = self.classifier.classify(pixels)
        species, score = top_species(scores)
        return FrameResult(media_id=media_id, sequence_id=sequence_id, scores=scores, top_species=species,
                           top_score=score)

    def aggregate(self, results: Sequence[FrameResult], new_id: Callable[[], str]) -> list[Detection]:
        card = self.classifier.card
        return aggregate(results, empty_species=card.empty_species, threshold=card.threshold, new_id=new_id)


class DetectorVision:
    """Detector, then (optionally) the classifier on each box."""

    def __init__(self, pipeline: FramePipeline) -> None:
        self.pipeline = pipeline
        self.detector = pipeline.detector
        self.classifier = pipeline.classifier
        #: The people/vehicle separator's detector when [model] people is set (``SeparatingDetector``).
        self.people = getattr(pipeline.detector, "people", None)

    @property
    def input_size(self) -> tuple[int, int]:
        return self.pipeline.input_size

    def prepare(self, pixels: np.ndarray) -> np.ndarray:
        return self.pipeline.prepare(pixels)

    @property
    def model_refs(self) -> list[tuple[str, str]]:
        refs = [(self.detector.card.name, self.detector.card.version)]
        if self.people is not None:
            refs.append((self.people.card.name, self.people.card.version))
        if self.classifier is not None:
            refs.append((self.classifier.card.name, self.classifier.card.version))
        return refs

    @property
    def species(self) -> dict[str, Species]:
        found = {**catalogue(), **self.detector.card.species_by_key()}
        if self.classifier is not None:
            found.update(self.classifier.card.species_by_key())
        return found

    def non_field_models(self) -> list[str]:
        cards = [self.detector.card] + ([self.classifier.card] if self.classifier is not None else [])
        cards += [self.people.card] if self.people is not None else []
        return [f"{card.name} {card.version}" for card in cards if not card.field_model]

    def frame_result(self, media_id: str, sequence_id: str, pixels: np.ndarray,
                     crop_source: CropSource = None) -> FrameResult:
        verdict = self.pipeline.analyse(pixels, crop_source)
        scores = {key: box.confidence for key, box in verdict.best_per_species().items()}
        top, score = top_species(scores) if scores else ("blank", 0.0)
        return FrameResult(media_id=media_id, sequence_id=sequence_id, scores=scores, top_species=top,
                           top_score=score, boxes=verdict.boxes)

    def aggregate(self, results: Sequence[FrameResult], new_id: Callable[[], str]) -> list[Detection]:
        return aggregate_boxes(results, new_id=new_id)


Vision = ClassifierVision | DetectorVision


def model_label(vision: Vision) -> str:
    """``detector 1.0 + classifier 2.0``: how every output names the models that decided."""
    return " + ".join(f"{name} {version}" for name, version in vision.model_refs)


def build_vision(*, detector_card: Path | None, classifier_card: Path | None, settings: DetectionSection,
                 threads: int, people_card: Path | None = None) -> Vision:
    """The detector pipeline when a detector card is given, else the classifier on whole frames; with a
    people card its person/vehicle boxes relabel the detector's (``station.vision.people``)."""
    classifier = None if classifier_card is None else Classifier.from_card_file(classifier_card, threads=threads)
    if detector_card is None:
        if classifier is None:
            raise ValueError("a classifier card is needed when there is no detector")
        return ClassifierVision(classifier)
    detector: BoxDetector = Detector.from_card(detector_card, threads=threads)
    if people_card is not None:
        detector = SeparatingDetector.from_cards(detector, Detector.from_card(people_card, threads=threads))
    return DetectorVision(FramePipeline(detector, classifier, settings))


def load_vision(config, *, camera: str | None = None) -> Vision:  # config: StationConfig (no import cycle)
    """What ``config`` asks for; a non-field model on a real camera is a ConfigError unless allowed."""
    detector = config.detector_path
    classifier = config.classifier_path if detector is not None else config.card_path
    vision = build_vision(detector_card=detector, classifier_card=classifier, settings=config.detection,
                          threads=config.model.threads, people_card=config.people_path)
    check_field_use(vision, camera or config.hardware.camera, allowed=config.model.allow_non_field)
    return vision


def check_field_use(vision: Vision, camera: str, *, allowed: bool) -> None:
    """Refuse a non-field model where real photos are decided (a real camera, an SD-card import)."""
    toys = vision.non_field_models()
    if toys and camera in (*REAL_CAMERAS, "sd-card") and not allowed:
        raise ConfigError(f"model.allow_non_field: {', '.join(toys)} is not a field model (its card says "
                          f"field_model = false) and would decide real photos from the {camera} camera; set "
                          "[model] detector to a field detector (trapd init writes the bundled one), or set "
                          "model.allow_non_field = true to run it anyway")


def reload_vision(config, current: Vision, card: Path | None) -> Vision:
    """A new vision for a model swap: ``card`` replaces the detector or the classifier (by its kind), the
    other model is kept; None reloads what the config names. Loaded and checked before anything changes."""
    from station.vision.detector_card import card_kind

    if card is None:
        return load_vision(config)
    threads = config.model.threads
    if card_kind(card) == "detector":
        classifier = current.classifier
        detector: BoxDetector = Detector.from_card(card, threads=threads)
        people = getattr(current, "people", None)  # a new detector keeps the people separator
        if people is not None:
            detector = SeparatingDetector.from_cards(detector, people)
        vision: Vision = DetectorVision(FramePipeline(detector, classifier, config.detection))
    elif isinstance(current, DetectorVision):
        vision = DetectorVision(FramePipeline(current.detector, Classifier.from_card_file(card, threads=threads),
                                              config.detection))
    else:
        vision = ClassifierVision(Classifier.from_card_file(card, threads=threads))
    check_field_use(vision, config.hardware.camera, allowed=config.model.allow_non_field)
    return vision
