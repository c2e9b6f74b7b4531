"""Where the third-party reference models and the real dev photos are, for tests that use them.

``../shared`` beside the checkout (the project's layout), or one level further up (a worktree under a
folder of worktrees). Tests skip with a reason where neither holds it; the product never needs it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from station.vision.detector import Detector
from station.vision.detector_card import load_detector_card

ROOT = Path(__file__).resolve().parents[1]
MDLITE_CARD = ROOT / "models" / "megadetector-lite-640.toml"
COCO_CARD = ROOT / "models" / "coco-yolox-nano-416.toml"


def shared_dir() -> Path | None:
    for candidate in (ROOT.parent / "shared", ROOT.parents[1] / "shared"):
        if candidate.is_dir():
            return candidate
    return None


def shared_path(*parts: str) -> Path | None:
    base = shared_dir()
    path = None if base is None else base.joinpath(*parts)
    return path if path is not None and path.exists() else None


def model_file_of(card_path: Path) -> Path | None:
    """The model a reference card points at, found in the shared folder (None: absent here)."""
    _, model_path = load_detector_card(card_path)
    if model_path.is_file():
        return model_path
    marker = "shared/"
    relative = model_path.as_posix().split(marker, 1)[-1]
    return shared_path(*relative.split("/"))


def reference_detector(card_path: Path, *, threads: int = 2) -> Detector:
    model = model_file_of(card_path)
    if model is None:
        pytest.skip(f"the reference model of {card_path.name} is absent (../shared/models is never copied "
                    "into the project)")
    card, _ = load_detector_card(card_path)
    return Detector(card, model, threads=threads)


DEV_SET = ("datasets", "real-camtrap-dev")


def dev_labels() -> dict[str, dict[str, str]]:
    path = shared_path(*DEV_SET, "labels.csv")
    if path is None:
        pytest.skip("the real camera-trap dev set ../shared/datasets/real-camtrap-dev is absent")
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["file"].split("/")[-1].removesuffix(".jpg"): row for row in csv.DictReader(handle)}


def dev_photo(name: str) -> np.ndarray:
    path = shared_path(*DEV_SET, "images", f"{name}.jpg")
    if path is None:
        pytest.skip(f"dev photo {name} is absent (../shared/datasets/real-camtrap-dev)")
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def dev_photo_path(name: str) -> Path:
    path = shared_path(*DEV_SET, "images", f"{name}.jpg")
    if path is None:
        pytest.skip(f"dev photo {name} is absent (../shared/datasets/real-camtrap-dev)")
    return path


def reference_card(card_path: Path, folder: Path) -> Path:
    """A copy of a reference card in ``folder`` whose model_file is the shared model's absolute path (a
    station config can then name it wherever the checkout sits); skips where the model is absent."""
    model = model_file_of(card_path)
    if model is None:
        pytest.skip(f"the reference model of {card_path.name} is absent (../shared/models is never copied "
                    "into the project)")
    text = card_path.read_text(encoding="utf-8")
    relative = next(line for line in text.splitlines() if line.startswith("model_file = "))
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / card_path.name
    copy.write_text(text.replace(relative, f'model_file = "{model.as_posix()}"'), encoding="utf-8")
    return copy


def photo_folder(folder: Path, names: list[str]) -> Path:
    """A folder of dev photos in the given order (0.jpg, 1.jpg, ...), for the replay camera."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(names):
        (folder / f"{index}.jpg").symlink_to(dev_photo_path(name))
    return folder
