"""Labelled photos from a labels CSV: one row per photo, for judging a detector (+ classifier) pipeline.

The columns are those of the shared development set's ``labels.csv``: ``file`` (relative to the CSV),
``label`` (``blank``, ``human``, ``vehicle`` or a common name), ``scientific_name``, ``count`` (empty where
not countable) and optionally ``day_night`` and ``notes``. A ``notes`` token ``also present: N human(s)``
says that a vehicle's riders are visible too, so people are scored on those photos as well.

Each photo gets an observation *kind* (blank, human, vehicle or animal) and, when the catalogue (or a label
map, as for ``trapd model eval --labels``) knows its scientific name or label, a species key.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import re
from pathlib import Path

from station.vision.dataset import IMAGE_SUFFIXES, DatasetError, LabelledSet, species_for
from station.vision.species import catalogue

KINDS = ("blank", "human", "vehicle")
_ALSO_PRESENT = re.compile(r"also present:\s*(\d+)\s*human", re.IGNORECASE)
REQUIRED_COLUMNS = ("file", "label")


@dataclasses.dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    file: str  # as written in the CSV
    label: str  # the CSV's own label
    kind: str  # blank, human, vehicle or animal
    species: str | None  # catalogue key (None: an animal the catalogue does not know)
    count: int | None  # individuals of the labelled class, None where not countable
    people: int  # people visible (the human rows' count, or the riders of a vehicle)
    day_night: str = ""

    @property
    def has_people(self) -> bool:
        return self.people > 0


@dataclasses.dataclass
class LabelledPhotos:
    source: str
    photos: list[LabelledPhoto]
    skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)


def is_labels_csv(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".csv"


def _count(text: str) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() else None


def _photo(root: Path, row: dict[str, str], label_map: dict[str, str]) -> LabelledPhoto | str:
    """The photo of one row, or the reason it is left out."""
    file, label = (row.get("file") or "").strip(), (row.get("label") or "").strip()
    path = root / file
    if not file or path.suffix.lower() not in IMAGE_SUFFIXES:
        return f"not an image file name ({file or 'empty'})"
    if not path.is_file():
        return "file named in the CSV is missing"
    latin = (row.get("scientific_name") or "").strip()
    mapped = label_map.get(label, label_map.get(latin))
    if mapped == "":
        return f"label {label!r} left out by the label map"
    kind = label.lower() if label.lower() in KINDS else "animal"
    if mapped in KINDS:
        kind = mapped
    if kind == "animal" and latin == "Homo sapiens":
        kind = "human"
    species = {"blank": "blank", "human": "human", "vehicle": "vehicle"}.get(kind)
    if kind == "animal":
        species = mapped or species_for(latin, label_map) or species_for(label, label_map)
    count = _count(row.get("count", ""))
    riders = _ALSO_PRESENT.search(row.get("notes") or "")
    people = (count or 1) if kind == "human" else int(riders.group(1)) if riders else 0
    return LabelledPhoto(path=path, file=file, label=label, kind=kind, species=species, count=count,
                         people=people, day_night=(row.get("day_night") or "").strip())


def read_labels_csv(path: Path, label_map: dict[str, str] | None = None) -> LabelledPhotos:
    """Every row of the labels CSV at ``path`` whose file exists; the rest are counted with a reason."""
    label_map = label_map or {}
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = reader.fieldnames or []
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: cannot read the labels CSV: {exc}") from exc
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise DatasetError(f"{path}: the labels CSV has no column {', '.join(missing)}; it needs at least "
                           "file,label (and scientific_name, count for species and counts)")
    found = LabelledPhotos(source="labels-csv", photos=[])
    for row in rows:
        photo = _photo(path.parent, row, label_map)
        if isinstance(photo, str):
            found.skipped[photo] += 1
        else:
            found.photos.append(photo)
    if not found.photos:
        raise DatasetError(f"{path}: no row names an image that exists beside the CSV")
    return found


def from_labelled_set(labelled: LabelledSet) -> LabelledPhotos:
    """A labelled folder or Camtrap DP package as photos to judge a pipeline on (no counts there)."""
    known = catalogue()
    photos = []
    for image in labelled.images:
        entry = known.get(image.species)
        kind = entry.kind if entry is not None and entry.kind in KINDS else "animal"
        species = image.species if entry is None or entry.kind != "unknown" else None
        photos.append(LabelledPhoto(path=image.path, file=image.group, label=image.species, kind=kind,
                                    species=species, count=None, people=1 if kind == "human" else 0))
    return LabelledPhotos(source=labelled.source, photos=photos, skipped=collections.Counter(labelled.skipped))
