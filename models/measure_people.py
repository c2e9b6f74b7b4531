"""Which model best tells people and vehicles from animals behind a one-class camera-trap detector?

Measures, on a labels CSV (the shared real-camtrap-dev set: NOT Amur fauna), photo by photo:

- ``coco-frame``: the COCO detector's best person (vehicle) box anywhere in the frame;
- ``coco-in-box``: its best person (vehicle) box that lies mostly (>= 50 %) inside one of the detector's boxes;
- ``coco-on-crop``: the COCO detector run on each of the detector's crops;
- ``imagenet-on-crop``: the ImageNet card's human (vehicle) probability on each crop (clothing, gear; cars);

and prints, per threshold, how many photos with people (vehicles) are found and how many without are
called so. docs/accuracy.md has the figures and the choice.

    .venv/bin/python models/measure_people.py DETECTOR-CARD COCO-CARD IMAGENET-CARD labels.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.vision.classifier import Classifier  # noqa: E402
from station.vision.detector import Detector  # noqa: E402
from station.vision.evaluate_pipeline import read_frame  # noqa: E402
from station.vision.frame_pipeline import crop  # noqa: E402
from station.vision.labels_csv import read_labels_csv  # noqa: E402
from station.vision.people import covered_share  # noqa: E402

THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.5)
DETECTOR_THRESHOLD, MARGIN = 0.25, 0.15
KINDS = ("human", "vehicle")


def best(boxes: list, kind: str) -> float:
    return max((b.score for b in boxes if b.species == kind), default=0.0)


def photo_scores(detector: Detector, coco: Detector, imagenet: Classifier, path: Path) -> dict[str, dict[str, float]]:
    """Per strategy and kind, the photo's best score (0: nothing)."""
    full = read_frame(path)
    boxes = [b for b in detector.detect(full) if b.score >= DETECTOR_THRESHOLD]
    hints = coco.detect(full)
    crops = [crop(full, b, MARGIN) for b in boxes]
    on_crops = [coco.detect(c) for c in crops]
    names = [imagenet.classify(c) for c in crops]
    found: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        found.setdefault("coco-frame", {})[kind] = best(hints, kind)
        inside = [h for h in hints if h.species == kind and any(covered_share(h, b) >= 0.5 for b in boxes)]
        found.setdefault("coco-in-box", {})[kind] = best(inside, kind)
        found.setdefault("coco-on-crop", {})[kind] = max((best(c, kind) for c in on_crops), default=0.0)
        found.setdefault("imagenet-on-crop", {})[kind] = max((n.get(kind, 0.0) for n in names), default=0.0)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("detector", "coco", "imagenet", "labels"):
        parser.add_argument(name, type=Path)
    args = parser.parse_args(argv)
    detector, coco = Detector.from_card(args.detector), Detector.from_card(args.coco)
    imagenet = Classifier.from_card_file(args.imagenet)
    photos = read_labels_csv(args.labels).photos
    rows = [(p, photo_scores(detector, coco, imagenet, p.path)) for p in photos]
    truth = {"human": lambda p: p.has_people, "vehicle": lambda p: p.kind == "vehicle"}
    for kind in KINDS:
        positives = sum(1 for p, _ in rows if truth[kind](p))
        print(f"\n{kind}: {positives} photos with, {len(rows) - positives} without")
        for strategy in rows[0][1]:
            cells = []
            for t in THRESHOLDS:
                hit = sum(1 for p, s in rows if truth[kind](p) and s[strategy][kind] >= t)
                false = sum(1 for p, s in rows if not truth[kind](p) and s[strategy][kind] >= t)
                cells.append(f"{t:.2f}: {hit:>2}/{positives} ({false} false)")
            print(f"  {strategy:<17}" + "  ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
