"""Labelled photos for training and evaluating a model: a folder per class, or a Camtrap DP package.

A *labelled folder* has one subfolder per class, named by its species key from the catalogue
(``station/vision/species.toml``), or by any name a label map turns into one. A *Camtrap DP package* has
``media.csv`` and ``observations.csv`` beside the image files: each photo takes the species of its
media-level observations, or else of the event-level observations whose time span and deployment cover it.
Photos with two different species, unknown classes or machine-made labels are left out and counted.

A label map is a TOML file of ``name = "species_key"`` lines (optionally under ``[labels]``); an empty
value drops that name. Names are folder names or Camtrap DP ``scientificName`` values; a scientific name
that the catalogue knows maps by itself, as does a species key.
"""

from __future__ import annotations

import bisect
import collections
import csv
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from station.config.toml import read_toml
from station.errors import ModelError
from station.vision.species import catalogue

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
OBSERVATION_KEYS = {"blank": "blank", "human": "human", "vehicle": "vehicle"}


class DatasetError(ModelError):
    """Labelled data that cannot be used as given; the message says which file or folder and what to do."""


@dataclasses.dataclass(frozen=True)
class LabelledImage:
    path: Path
    species: str  # catalogue key
    group: str  # photos of one group go to the same side of a train/held-out split (a sequence, or the file)


@dataclasses.dataclass
class LabelledSet:
    source: str  # "folder" or "camtrap-dp"
    images: list[LabelledImage]
    skipped: collections.Counter = dataclasses.field(default_factory=collections.Counter)  # reason -> count

    def counts(self) -> dict[str, int]:
        return dict(sorted(collections.Counter(image.species for image in self.images).items()))


def load_label_map(path: Path | None) -> dict[str, str]:
    """Name -> species key from a TOML file (``None``: no map). Refuses keys the catalogue does not know."""
    if path is None:
        return {}
    raw = read_toml(path, error=DatasetError, what="the label map")
    table = raw.get("labels", raw)
    known = catalogue()
    wrong = [f"{name} = {key!r}" for name, key in table.items() if not isinstance(key, str) or
             (key and key not in known)]
    if wrong:
        raise DatasetError(f"{path}: not species keys of the catalogue: {', '.join(wrong)}; use keys from "
                           "station/vision/species.toml, or \"\" to leave a class out")
    return dict(table)


def species_for(name: str, label_map: dict[str, str]) -> str | None:
    """The catalogue key for a folder name or scientific name; '' means left out on purpose; None unknown."""
    if name in label_map:
        return label_map[name]
    known = catalogue()
    if name in known:
        return name
    latin = {s.latin.lower(): s.key for s in known.values() if s.latin}
    return latin.get(name.strip().lower())


def read_labelled_folder(root: Path, label_map: dict[str, str] | None = None) -> LabelledSet:
    """Every image under each class subfolder of ``root`` (nested folders allowed), sorted by path."""
    label_map = label_map or {}
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; give a folder with one subfolder per class")
    classes = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    unknown = [p.name for p in classes if species_for(p.name, label_map) is None]
    if unknown:
        raise DatasetError(f"{root}: subfolders that are not species keys: {', '.join(unknown)}; rename them to "
                           "keys from station/vision/species.toml or map them with a label file (--labels)")
    found = LabelledSet(source="folder", images=[])
    for folder in classes:
        key = species_for(folder.name, label_map)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if path.suffix.lower() not in IMAGE_SUFFIXES:
                found.skipped[f"not an image ({path.suffix or 'no suffix'})"] += 1
            elif not key:
                found.skipped[f"class {folder.name} left out by the label map"] += 1
            else:
                found.images.append(LabelledImage(path, key, path.relative_to(root).as_posix()))
    if not found.images:
        raise DatasetError(f"{root}: no labelled images (.jpg, .jpeg, .png) in its subfolders")
    return found


def is_camtrap_dp(root: Path) -> bool:
    return (root / "media.csv").is_file() and (root / "observations.csv").is_file()


def _read_csv(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{path}: cannot read it: {exc}") from exc


def _when(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _observation_species(row: dict[str, str], label_map: dict[str, str]) -> str | None:
    kind = (row.get("observationType") or "").strip()
    if kind in OBSERVATION_KEYS:
        return label_map.get(kind, OBSERVATION_KEYS[kind])
    if kind != "animal":
        return None
    return species_for((row.get("scientificName") or "").strip(), label_map)


def _labels_by_media(media: list[dict[str, str]], observations: list[dict[str, str]], label_map: dict[str, str],
                     include_machine: bool, skipped: collections.Counter,
                     groups: dict[str, str]) -> dict[str, set[str]]:
    """mediaID -> species keys: media-level observations first, event-level ones where a photo has none.
    ``groups`` is filled with mediaID -> eventID, so that a sequence is never split by train/held-out."""
    by_deployment: dict[str, list[tuple[datetime, str]]] = collections.defaultdict(list)
    for row in media:
        moment = _when(row.get("timestamp", ""))
        if moment is not None:
            by_deployment[row.get("deploymentID", "")].append((moment, row["mediaID"]))
    for rows in by_deployment.values():
        rows.sort()
    media_level: dict[str, set[str]] = collections.defaultdict(set)
    event_level: dict[str, set[str]] = collections.defaultdict(set)
    for row in observations:
        if row.get("classificationMethod") == "machine" and not include_machine:
            skipped["observation made by a machine (use --include-machine to train on it)"] += 1
            continue
        key = _observation_species(row, label_map)
        if not key:
            skipped[f"observation of {row.get('scientificName') or row.get('observationType')!r}: "
                    "not a species key (map it with --labels)"] += 1
            continue
        if row.get("observationLevel") == "media" and row.get("mediaID"):
            media_level[row["mediaID"]].add(key)
            groups.setdefault(row["mediaID"], row.get("eventID") or row["mediaID"])
            continue
        start, end = _when(row.get("eventStart", "")), _when(row.get("eventEnd", ""))
        rows = by_deployment.get(row.get("deploymentID", ""), [])
        if start is None or end is None:
            skipped["event observation without a readable eventStart/eventEnd"] += 1
            continue
        low = bisect.bisect_left(rows, (start, ""))
        for moment, media_id in rows[low:]:
            if moment > end:
                break
            event_level[media_id].add(key)
            groups.setdefault(media_id, row.get("eventID") or f"{start.isoformat()} {row.get('deploymentID')}")
    return {**event_level, **media_level}


def read_camtrap_dp(root: Path, label_map: dict[str, str] | None = None, *,
                    include_machine: bool = False) -> LabelledSet:
    """Labelled photos of a Camtrap DP package (media.csv, observations.csv and the files they name)."""
    label_map = label_map or {}
    if not is_camtrap_dp(root):
        raise DatasetError(f"{root}: no media.csv and observations.csv here; give a Camtrap DP package folder")
    media = _read_csv(root / "media.csv")
    found = LabelledSet(source="camtrap-dp", images=[])
    groups: dict[str, str] = {}
    labels = _labels_by_media(media, _read_csv(root / "observations.csv"), label_map, include_machine,
                              found.skipped, groups)
    for row in media:
        keys = labels.get(row.get("mediaID", ""), set())
        path = root / (row.get("filePath") or "")
        if not keys:
            found.skipped["photo without a usable observation"] += 1
        elif len(keys) > 1:
            found.skipped["photo with several species"] += 1
        elif "://" in (row.get("filePath") or "") or not path.is_file():
            found.skipped["file not in the package (filePath missing or a URL)"] += 1
        else:
            found.images.append(LabelledImage(path, keys.pop(), groups.get(row["mediaID"], row["mediaID"])))
    if not found.images:
        raise DatasetError(f"{root}: no photo has a usable label; see the skipped reasons")
    return found


def read_labelled(root: Path, label_map: dict[str, str] | None = None, *,
                  include_machine: bool = False) -> LabelledSet:
    """A Camtrap DP package if ``root`` has media.csv and observations.csv, else a labelled folder."""
    if is_camtrap_dp(root):
        return read_camtrap_dp(root, label_map, include_machine=include_machine)
    return read_labelled_folder(root, label_map)


def model_input(path: Path, size: tuple[int, int]) -> np.ndarray:
    """What the station feeds a model for this photo: the whole frame, RGB, bilinear to ``size`` (w, h).

    Raises OSError (with the reason) for a file Pillow cannot read to the end."""
    try:
        with Image.open(path) as image:
            small = image.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    except UnidentifiedImageError:
        raise OSError("not an image Pillow can read") from None
    except (SyntaxError, ValueError) as exc:  # some decoders report corrupt data this way
        raise OSError(f"corrupt image ({exc})") from None
    return np.asarray(small, dtype=np.uint8)
