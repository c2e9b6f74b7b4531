"""A frame pipeline from card files: detector, optional people/vehicle separator, optional classifier.

Used by ``trapd model eval`` and ``trapd replay`` so that what is measured is what the station runs.
"""

from __future__ import annotations

from pathlib import Path

from station.errors import ModelError
from station.vision.classifier import Classifier
from station.vision.detector import BoxDetector, Detector
from station.vision.detector_card import card_kind
from station.vision.frame_pipeline import FramePipeline
from station.vision.people import SeparatingDetector
from station.vision.settings import DetectionSection


def load_detector(card: Path, *, threads: int) -> Detector:
    if card_kind(card) != "detector":
        raise ModelError(f"{card}: not a detector card (kind = \"detector\")")
    return Detector.from_card(card, threads=threads)


def load_classifier(card: Path, *, threads: int) -> Classifier:
    if card_kind(card) != "classifier":
        raise ModelError(f"{card}: not a classifier card; give a classifier (kind = \"classifier\") here")
    return Classifier.from_card_file(card, threads=threads)


def build_pipeline(detector_card: Path, *, classifier_card: Path | None = None, people_card: Path | None = None,
                   settings: DetectionSection | None = None, threads: int = 2) -> FramePipeline:
    """The station's per-frame step for these cards (the people card's hints relabel the detector's boxes)."""
    detector: BoxDetector = load_detector(detector_card, threads=threads)
    if people_card is not None:
        detector = SeparatingDetector.from_cards(detector, load_detector(people_card, threads=threads))
    classifier = None if classifier_card is None else load_classifier(classifier_card, threads=threads)
    return FramePipeline(detector, classifier, settings)


def pipeline_models(pipeline: FramePipeline) -> list[str]:
    """Every model that decides, detector first (the separator's people model included)."""
    names = list(getattr(pipeline.detector, "models", [pipeline.detector.card.label]))
    if pipeline.classifier is not None:
        names.append(f"{pipeline.classifier.card.name} {pipeline.classifier.card.version}")
    return names
