"""How well a model does on labelled photos, judged the way the station decides.

Every photo goes through the station's own path (whole frame, RGB, bilinear to the input size, quantize,
``invoke()``, fold into species). A photo's *verdict* is the station's rule at the card's thresholds: the
best-scoring non-empty species that reaches its own threshold, or else the card's empty species. From the
verdicts: accuracy, per-class precision and recall, and a confusion matrix. From the scores: the trade-off
between empty photos kept (forwarded for nothing) and animals missed, as one threshold for every non-empty
species moves from low to high. ``top1_accuracy`` (argmax, no thresholds) is given for comparison.
"""

from __future__ import annotations

import collections
import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from station.vision.classifier import Classifier
from station.vision.dataset import LabelledSet, model_input

TRADEOFF_THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)

Progress = Callable[[int, int], None]


@dataclasses.dataclass(frozen=True)
class TradeoffPoint:
    threshold: float | None  # None: the card's own per-species thresholds
    empty_kept: float | None  # share of truly empty photos that would be kept (false alarms)
    animals_missed: float | None  # share of photos with something in them that would be called empty


@dataclasses.dataclass
class Evaluation:
    model: str
    species: list[str]  # score columns, in the classifier's order
    empty: str
    thresholds: np.ndarray  # per column, from the card
    truth: list[str]
    paths: list[str]
    scores: np.ndarray  # (photos, species)
    skipped: collections.Counter
    seconds: float

    def verdicts(self) -> list[str]:
        """The station's call for each photo at the card's thresholds."""
        return self._verdicts(self.thresholds)

    def _verdicts(self, thresholds: np.ndarray) -> list[str]:
        if not self.truth:
            return []
        candidates = np.where(self.scores >= thresholds[None, :], self.scores, -1.0)
        if self.empty in self.species:  # a model without an empty output says "empty" by low scores only
            candidates[:, self.species.index(self.empty)] = -1.0
        best = np.argmax(candidates, axis=1)
        passed = candidates[np.arange(len(best)), best] >= 0.0
        return [self.species[b] if ok else self.empty for b, ok in zip(best, passed, strict=True)]

    def classes(self) -> list[str]:
        """Classes seen in the truth or the verdicts: the card's order first, then unknown truth keys."""
        present = set(self.truth) | set(self.verdicts())
        return [s for s in self.species if s in present] + sorted(present - set(self.species))

    def confusion(self) -> tuple[list[str], np.ndarray]:
        """(classes, matrix) with matrix[true][predicted] = photos."""
        labels = self.classes()
        index = {key: i for i, key in enumerate(labels)}
        matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
        for truth, verdict in zip(self.truth, self.verdicts(), strict=True):
            matrix[index[truth], index[verdict]] += 1
        return labels, matrix

    def per_class(self) -> dict[str, dict[str, float | int | None]]:
        labels, matrix = self.confusion()
        found = {}
        for i, key in enumerate(labels):
            support, predicted, right = int(matrix[i].sum()), int(matrix[:, i].sum()), int(matrix[i, i])
            found[key] = {"support": support, "predicted": predicted,
                          "precision": round(right / predicted, 4) if predicted else None,
                          "recall": round(right / support, 4) if support else None,
                          "threshold": float(self.thresholds[self.species.index(key)]) if key in self.species
                          else None}
        return found

    def accuracy(self) -> float:
        return float(np.mean([t == v for t, v in zip(self.truth, self.verdicts(), strict=True)])) if self.truth else 0.0

    def top1_accuracy(self) -> float:
        if not self.truth:
            return 0.0
        top = np.argmax(self.scores, axis=1)
        return float(np.mean([t == self.species[i] for t, i in zip(self.truth, top, strict=True)]))

    def _point(self, verdicts: list[str], threshold: float | None) -> TradeoffPoint:
        empty = [v != self.empty for t, v in zip(self.truth, verdicts, strict=True) if t == self.empty]
        animal = [v == self.empty for t, v in zip(self.truth, verdicts, strict=True) if t != self.empty]
        return TradeoffPoint(threshold, round(float(np.mean(empty)), 4) if empty else None,
                             round(float(np.mean(animal)), 4) if animal else None)

    def tradeoff(self, thresholds: tuple[float, ...] = TRADEOFF_THRESHOLDS) -> list[TradeoffPoint]:
        """One threshold for every non-empty species, from low (keep everything) to high (keep little)."""
        return [self._point(self._verdicts(np.full(len(self.species), t)), t) for t in thresholds]

    def at_card_thresholds(self) -> TradeoffPoint:
        return self._point(self.verdicts(), None)

    def report(self) -> dict[str, Any]:  # a JSON document (report.json)
        labels, matrix = self.confusion()
        return {
            "model": self.model, "photos": len(self.truth), "seconds": round(self.seconds, 2),
            "photos_per_class": dict(sorted(collections.Counter(self.truth).items())),
            "skipped": dict(self.skipped), "accuracy": round(self.accuracy(), 4),
            "top1_accuracy": round(self.top1_accuracy(), 4), "per_class": self.per_class(),
            "confusion": {"labels": labels, "matrix": matrix.tolist(), "rows": "true", "columns": "predicted"},
            "empty_vs_animal": {"card_thresholds": dataclasses.asdict(self.at_card_thresholds()),
                                "single_threshold": [dataclasses.asdict(p) for p in self.tradeoff()]},
        }


def evaluate(classifier: Classifier, labelled: LabelledSet, *, progress: Progress | None = None) -> Evaluation:
    """Classify every photo of ``labelled``; unreadable files are counted with their reason and left out."""
    started = time.monotonic()
    skipped = collections.Counter(labelled.skipped)
    truth, paths, rows = [], [], []
    total = len(labelled.images)
    for done, image in enumerate(labelled.images, start=1):
        try:
            pixels = model_input(image.path, classifier.input_size)
        except OSError as exc:
            skipped[f"unreadable: {exc.strerror or exc}"] += 1
        else:
            scores = classifier.classify(pixels)
            truth.append(image.species)
            paths.append(str(image.path))
            rows.append([scores[key] for key in classifier.species])
        if progress is not None:
            progress(done, total)
    return _evaluation(classifier, truth, paths, rows, skipped, time.monotonic() - started)


def evaluate_pixels(classifier: Classifier, images: np.ndarray, truth: list[str],
                    paths: list[str] | None = None) -> Evaluation:
    """The same for photos already at the model's input size (as a training script holds them)."""
    started = time.monotonic()
    rows = []
    for pixels in images:
        scores = classifier.classify(pixels)
        rows.append([scores[key] for key in classifier.species])
    return _evaluation(classifier, list(truth), list(paths or [""] * len(truth)), rows, collections.Counter(),
                       time.monotonic() - started)


def _evaluation(classifier: Classifier, truth: list[str], paths: list[str], rows: list[list[float]],
                skipped: collections.Counter, seconds: float) -> Evaluation:
    card = classifier.card
    thresholds = np.array([card.threshold(key) for key in classifier.species])
    return Evaluation(model=f"{card.name} {card.version}", species=list(classifier.species),
                      empty=card.empty_species, thresholds=thresholds, truth=truth, paths=paths,
                      scores=np.array(rows, dtype=np.float64).reshape(len(rows), len(classifier.species)),
                      skipped=skipped, seconds=seconds)


def confusion_table(labels: list[str], matrix: np.ndarray) -> list[str]:
    """The confusion matrix as fixed-width text lines (rows true, columns predicted, recall at the end)."""
    width = max(8, *(len(key) for key in labels)) + 2
    cell = max(6, len(str(int(matrix.max(initial=0)))) + 2)
    codes = [f"c{i}" for i in range(len(labels))]
    lines = ["true \\ predicted".ljust(width) + "".join(code.rjust(cell) for code in codes) + "  recall"]
    for i, key in enumerate(labels):
        total = int(matrix[i].sum())
        recall = f"{100 * matrix[i, i] / total:5.1f} %" if total else "    -"
        lines.append(f"{key:<{width}}" + "".join(str(int(n)).rjust(cell) for n in matrix[i]) + f"  {recall}")
    lines.append("columns: " + ", ".join(f"{code} = {key}" for code, key in zip(codes, labels, strict=True)))
    return lines
