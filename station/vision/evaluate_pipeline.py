"""How well a detector (+ people separator, + classifier) pipeline does on labelled photos, per photo.

Each photo goes through the station's own per-frame step (``analyse``: RGB frame -> the boxes the station
keeps, each with a species key). The photo's call is then what the station reports: *blank* with no box;
else the kinds of its boxes (human, vehicle, animal — a box the classifier cannot name is an animal). From
the calls: empty vs not-empty accuracy, human recall and false-human rate (over photos with and without
visible people, riders of vehicles included), vehicle recall and false-vehicle rate, count error (boxes of
the labelled kind against the labelled count) and species accuracy (over photos whose true species is in
the catalogue).
"""

from __future__ import annotations

import collections
import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, TypedDict

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from station.types import Box
from station.vision.labels_csv import LabelledPhoto, LabelledPhotos
from station.vision.species import catalogue

Progress = Callable[[int, int], None]


class BoxCall(Protocol):
    """What the frame pipeline says of one box (``station.vision.frame_pipeline.BoxVerdict``)."""

    @property
    def box(self) -> Box: ...
    @property
    def species(self) -> str: ...
    @property
    def confidence(self) -> float: ...


Analyse = Callable[[np.ndarray], Sequence[BoxCall]]


class PhotoBox(TypedDict):
    """One box of a photo's result, as the reports write it (coordinates 0..1, top-left origin)."""

    x: float
    y: float
    width: float
    height: float
    score: float
    species: str
    confidence: float
    kind: str  # human, vehicle or animal


def kind_of(species: str) -> str:
    """human, vehicle or animal for a box's species key (unknown_animal and species are animals)."""
    entry = catalogue().get(species)
    kind = entry.kind if entry is not None else "animal"
    return kind if kind in ("human", "vehicle", "blank") else "animal"


@dataclasses.dataclass(frozen=True)
class PhotoResult:
    photo: LabelledPhoto
    boxes: list[PhotoBox]

    def kinds(self) -> set[str]:
        return {str(b["kind"]) for b in self.boxes}

    @property
    def call(self) -> str:
        """The photo's verdict: blank, or the most urgent kind boxed (human, then vehicle, then animal)."""
        kinds = self.kinds()
        return next((k for k in ("human", "vehicle", "animal") if k in kinds), "blank")

    def count_of(self, kind: str) -> int:
        return sum(1 for b in self.boxes if b["kind"] == kind)

    def top_species(self) -> str | None:
        animals = [b for b in self.boxes if b["kind"] == "animal"]
        return str(max(animals, key=lambda b: float(b["confidence"]))["species"]) if animals else None

    def as_dict(self) -> dict[str, object]:
        photo = self.photo
        return {"file": photo.file, "label": photo.label, "true_kind": photo.kind, "true_species": photo.species,
                "true_count": photo.count, "people_visible": photo.people, "day_night": photo.day_night,
                "call": self.call, "species": self.top_species(), "boxes": self.boxes}


def _share(hits: int, total: int) -> dict[str, object]:
    return {"hits": hits, "of": total, "rate": round(hits / total, 4) if total else None}


@dataclasses.dataclass
class PipelineEvaluation:
    models: list[str]
    results: list[PhotoResult]
    skipped: collections.Counter
    seconds: float

    def _rate(self, want: Callable[[PhotoResult], bool], among: Callable[[PhotoResult], bool]) -> dict[str, object]:
        pool = [r for r in self.results if among(r)]
        return _share(sum(1 for r in pool if want(r)), len(pool))

    def summary(self) -> dict[str, object]:
        boxed = lambda r: bool(r.boxes)  # noqa: E731
        human = lambda r: "human" in r.kinds()  # noqa: E731
        vehicle = lambda r: "vehicle" in r.kinds()  # noqa: E731
        right_empty = sum(1 for r in self.results if boxed(r) == (r.photo.kind != "blank"))
        return {
            "photos": len(self.results),
            "empty_vs_not_empty_accuracy": _share(right_empty, len(self.results)),
            "blank_photos_called_blank": self._rate(lambda r: not boxed(r), lambda r: r.photo.kind == "blank"),
            "not_blank_photos_boxed": self._rate(boxed, lambda r: r.photo.kind != "blank"),
            "human_recall": self._rate(human, lambda r: r.photo.has_people),
            "human_recall_human_rows": self._rate(human, lambda r: r.photo.kind == "human"),
            "people_called_blank": self._rate(lambda r: not boxed(r), lambda r: r.photo.has_people),
            "false_human_rate": self._rate(human, lambda r: not r.photo.has_people),
            "vehicle_recall": self._rate(vehicle, lambda r: r.photo.kind == "vehicle"),
            "false_vehicle_rate": self._rate(vehicle, lambda r: r.photo.kind != "vehicle"),
            "count": self.count_error(),
            "species_accuracy": self._rate(lambda r: r.top_species() == r.photo.species,
                                           lambda r: r.photo.kind == "animal" and r.photo.species is not None),
            "animals_not_in_catalogue": sum(1 for r in self.results
                                            if r.photo.kind == "animal" and r.photo.species is None),
        }

    def count_error(self) -> dict[str, object]:
        """Boxes of the labelled kind against the labelled count, over photos with a count that are not blank."""
        pairs = [(r.count_of(r.photo.kind), r.photo.count) for r in self.results
                 if r.photo.count is not None and r.photo.kind != "blank"]
        if not pairs:
            return {"photos": 0, "mean_absolute_error": None, "exact": None}
        errors = np.array([abs(p - t) for p, t in pairs], dtype=np.float64)
        return {"photos": len(pairs), "mean_absolute_error": round(float(errors.mean()), 3),
                "exact": _share(int(np.sum(errors == 0)), len(pairs))}

    def report(self) -> dict[str, object]:
        return {"models": self.models, "seconds": round(self.seconds, 2), "skipped": dict(self.skipped),
                "summary": self.summary(), "photos": [r.as_dict() for r in self.results]}


def read_frame(path: Path) -> np.ndarray:
    """A photo as the station reads it: EXIF orientation applied, RGB uint8. OSError (with why) if unreadable."""
    try:
        with Image.open(path) as image:
            return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    except UnidentifiedImageError:
        raise OSError("not an image Pillow can read") from None
    except (SyntaxError, ValueError) as exc:
        raise OSError(f"corrupt image ({exc})") from None


def box_dict(call: BoxCall) -> PhotoBox:
    box = call.box
    return {"x": round(float(box.x), 4), "y": round(float(box.y), 4), "width": round(float(box.width), 4),
            "height": round(float(box.height), 4), "score": round(float(box.score), 4), "species": call.species,
            "confidence": round(float(call.confidence), 4), "kind": kind_of(call.species)}


def evaluate_pipeline(analyse: Analyse, labelled: LabelledPhotos, *, models: list[str],
                      progress: Progress | None = None) -> PipelineEvaluation:
    """Run ``analyse`` on every photo of ``labelled``; unreadable photos are counted with their reason."""
    started = time.monotonic()
    skipped = collections.Counter(labelled.skipped)
    results = []
    for done, photo in enumerate(labelled.photos, start=1):
        try:
            pixels = read_frame(photo.path)
        except OSError as exc:
            skipped[f"unreadable: {exc.strerror or exc}"] += 1
        else:
            results.append(PhotoResult(photo, [box_dict(b) for b in analyse(pixels)]))
        if progress is not None:
            progress(done, len(labelled.photos))
    return PipelineEvaluation(models=models, results=results, skipped=skipped, seconds=time.monotonic() - started)
