"""Crops for training a park's own classifier: the detector's boxes cut from labelled photos, filed by label.

A classifier behind a detector sees crops (each box grown by ``[detection] crop_margin``), not whole
frames, so it should be trained on crops cut the same way. For every labelled photo the station's own
detector step runs (thresholds, minimum area, masks); each counted box is cut from the full photo and saved
as ``OUT/<species key>/<photo path>-<n>.jpg``: a labelled folder that ``models/train.py`` takes as it is. Boxes
found on photos labelled blank go to ``OUT/blank/`` (they teach the classifier to reject the detector's
false alarms). Photos whose label the catalogue does not know are left out and counted.
"""

from __future__ import annotations

import collections
import dataclasses
from pathlib import Path

from PIL import Image

from station.vision.evaluate_pipeline import read_frame
from station.vision.frame_pipeline import FramePipeline, crop
from station.vision.labels_csv import LabelledPhotos


@dataclasses.dataclass
class CropReport:
    photos: int = 0
    crops: collections.Counter = dataclasses.field(default_factory=collections.Counter)  # species -> crops
    skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)  # reason -> photos


def write_crops(pipeline: FramePipeline, labelled: LabelledPhotos, out: Path, *, quality: int = 92) -> CropReport:
    """Cut every counted box of every usable photo into ``out``; returns what was written."""
    report = CropReport(skipped=collections.Counter(labelled.skipped))
    margin = pipeline.settings.crop_margin
    for photo in labelled.photos:
        key = photo.species
        if key is None:
            report.skipped["animal the catalogue does not know (map its label with --labels)"] += 1
            continue
        try:
            full = read_frame(photo.path)
        except OSError as exc:
            report.skipped[f"unreadable: {exc.strerror or exc}"] += 1
            continue
        report.photos += 1
        boxes = pipeline.detector.detect(pipeline.prepare(full))
        counted = [box for box in boxes if pipeline.counts(box)]
        if not counted:
            report.skipped["no box on the photo" if key != "blank" else "blank photo without a false box"] += 1
        folder = out / key
        for n, box in enumerate(counted):
            folder.mkdir(parents=True, exist_ok=True)
            name = f"{Path(photo.file).with_suffix('').as_posix().replace('/', '_')}-{n}.jpg"
            Image.fromarray(crop(full, box, margin)).save(folder / name, "JPEG", quality=quality)
            report.crops[key] += 1
    return report
