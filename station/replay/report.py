"""The per-photo report of `trapd replay` (CSV): what the station saw in each imported photo.

One row per photo: its path on the card, its time and where the time came from, its sequence, the
photo's observation type and species (people first, then vehicles, then animals: the most urgent thing in
it), the confidence, how many boxes of that species it has, and every box as JSON
(``[{"species", "confidence", "score", "bbox": [x, y, width, height]}]``, normalised, top-left origin).
A photo decided by a classifier alone has no boxes and no count. The models are named in every row.
"""

from __future__ import annotations

import csv
import json
from typing import IO

from station.replay.importer import ImportedPhoto
from station.vision.species import catalogue

COLUMNS = ("file", "time", "time_source", "sequence", "observation_type", "species", "scientific_name",
           "confidence", "count", "boxes", "models")
_URGENCY = {"human": 0, "vehicle": 1, "animal": 2, "unknown": 3}


def photo_row(photo: ImportedPhoto, models: str) -> dict[str, object]:
    result, known = photo.result, catalogue()
    if result.boxes:
        best = min(result.boxes, key=lambda v: (_URGENCY.get(_kind(v.species), 9), -v.confidence))
        species, confidence = best.species, best.confidence
        count: int | str = sum(1 for v in result.boxes if v.species == species)
    else:
        species, confidence, count = result.top_species, result.top_score, ""
    entry = known.get(species)
    kind = _kind(species)
    boxes = [{"species": v.species, "confidence": round(v.confidence, 4), "score": round(v.box.score, 4),
              "bbox": v.box.as_list()} for v in result.boxes]
    blank = kind == "blank"
    return {"file": photo.source_path, "time": photo.taken_at, "time_source": photo.time_source,
            "sequence": photo.sequence_id, "observation_type": kind,
            "species": "" if blank or kind == "unknown" else species,
            "scientific_name": "" if entry is None or blank else entry.latin,
            "confidence": "" if blank and not result.boxes else round(confidence, 4),
            "count": "" if blank else count, "boxes": json.dumps(boxes) if boxes else "", "models": models}


def _kind(species: str) -> str:
    entry = catalogue().get(species)
    return entry.kind if entry is not None else "animal"


class PhotoReport:
    """Writes rows as photos are reported (a card of 100,000 photos is never held in memory)."""

    def __init__(self, handle: IO[str], models: str) -> None:
        self._writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        self._writer.writeheader()
        self._handle, self._models = handle, models
        self.rows = 0

    def __call__(self, photo: ImportedPhoto) -> None:
        self._writer.writerow(photo_row(photo, self._models))
        self._handle.flush()
        self.rows += 1
